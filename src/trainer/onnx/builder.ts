// Appends nodes to a graph with fresh names, infers their shapes as they are added, and offers
// the small vocabulary of helpers (constants, reshapes, reductions) that gradient rules,
// loss heads and optimizers are written in.

import { Attribute, AttrInput, Graph, Node, attrs as makeAttrs } from './graph';
import { Dim } from './graph';
import { compareDims } from './shapes/dims';
import { BROADCASTING as BROADCASTING_OPS, UNARY } from './shapes/elementwise';
import { Facts, ShapeTable } from './shapes';
import { factsOfTensor } from './shapes/facts';
import { DataType, Tensor, elementValue, fromNumbers, toBytes } from './tensor';

export interface AddOptions {
  /** Number of outputs, or explicit output names. */
  outputs?: number | string[];
  name?: string;
  domain?: string;
  /** Attributes whose numeric values are floats (ints otherwise). */
  floats?: string[];
}

/** Operators whose output has their first operand's shape, and those that broadcast their operands (shape inference's tables). */
const SAME_SHAPE = new Set([...UNARY, 'Cast']);
const BROADCASTING = new Set(BROADCASTING_OPS);

export class GraphBuilder {
  readonly shapes: ShapeTable;
  private used = new Set<string>();
  private counter = 0;
  private constCache = new Map<string, string>();
  private shapeCache = new Map<string, string>();
  private sharedCache = new Map<string, string>();
  /**
   * Each NonZero's count dimension and the NonZero output that has it, for the NonZeros the graph
   * had when this builder was made (a new node may read those without making a cycle).
   */
  private readonly nonZeroCounts = new Map<string, string>();

  constructor(readonly graph: Graph, shapes?: ShapeTable, readonly prefix = '') {
    this.shapes = shapes ?? new ShapeTable(graph).inferAll();
    for (const v of graph.inputs) this.used.add(v.name);
    for (const v of graph.outputs) this.used.add(v.name);
    for (const k of graph.initializers.keys()) this.used.add(k);
    for (const n of graph.nodes) {
      this.used.add(n.name);
      for (const o of n.outputs) this.used.add(o);
      const count = n.op === 'NonZero' && n.domain === '' ? this.shapes.get(n.outputs[0])?.shape?.[1] : undefined;
      if (typeof count === 'string' && !this.nonZeroCounts.has(count)) this.nonZeroCounts.set(count, n.outputs[0]);
    }
  }

  /** A value or node name not used anywhere in the graph yet. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}${hint}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Reserves a specific name (e.g. a graph input); fails if taken. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`value name "${name}" is already used in the graph`);
    this.used.add(name);
    return name;
  }

  add(op: string, inputs: string[], attributes: Record<string, AttrInput | undefined> | Map<string, Attribute> = {}, opts: AddOptions = {}): string[] {
    if (op === 'Pad' && (opts.domain ?? '') === '' && inputs[3]) inputs = this.padOverEveryAxis(inputs);
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(op.toLowerCase()));
    const node: Node = {
      name: opts.name ?? this.fresh(`${op}`),
      op,
      domain: opts.domain ?? '',
      inputs,
      outputs: outs,
      attrs: attributes instanceof Map ? attributes : makeAttrs(attributes, opts.floats),
    };
    this.graph.nodes.push(node);
    this.shapes.inferNode(node);
    return outs;
  }

  /**
   * Pad's `axes` input (opset 18) rewritten as pads over every axis, zero where not listed:
   * onnxruntime 1.30's transpose optimizer permutes a Pad's pads as if they covered every axis
   * and produces out-of-range indices when `axes` is given (seen training GPT-NeoX).
   */
  private padOverEveryAxis(inputs: string[]): string[] {
    const [x, pads, value, axesName] = inputs;
    const rank = this.rank(x);
    const listed = this.facts(axesName).value;
    if (!listed || listed.some((a) => typeof a !== 'number')) throw new Error('Pad with axes computed at run time is not supported');
    const axes = (listed as number[]).map((a) => (a < 0 ? a + rank : a));
    const piece = (side: number, axis: number) => {
      const i = axes.indexOf(axis);
      if (i < 0) return this.int64s([0]);
      const at = side * axes.length + i;
      return this.op('Slice', [pads, this.int64s([at]), this.int64s([at + 1])]);
    };
    const all = Array.from({ length: rank }, (_, a) => a);
    const full = this.op('Concat', [...all.map((a) => piece(0, a)), ...all.map((a) => piece(1, a))], { axis: 0 });
    return value ? [x, full, value] : [x, full];
  }

  /** Adds a single-output node and returns its output name. */
  op(op: string, inputs: string[], attributes: Record<string, AttrInput | undefined> = {}, floats: string[] = []): string {
    return this.add(op, inputs, attributes, { floats })[0];
  }

  /** A constant initializer; small constants with equal contents are shared. */
  constant(t: Tensor, hint = 'const'): string {
    const small = t.data.length <= 64;
    const key = small ? `${t.type}|${t.dims.join(',')}|${Buffer.from(toBytes(t.data)).toString('hex')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const name = this.fresh(hint);
    this.graph.initializers.set(name, t);
    this.shapes.set(name, factsOfTensor(t));
    if (small) this.constCache.set(key, name);
    return name;
  }

  /**
   * A constant of any size shared by every request with the same `key` (an index table for one
   * geometry, say): `make` runs for the first request only.
   */
  sharedConstant(key: string, make: () => Tensor, hint = 'const'): string {
    let name = this.sharedCache.get(key);
    if (!name) this.sharedCache.set(key, (name = this.constant(make(), hint)));
    return name;
  }

  scalar(value: number, type: DataType = DataType.FLOAT): string {
    return this.constant(fromNumbers(type, [], [value]), 'scalar');
  }

  int64s(values: number[]): string {
    return this.constant(fromNumbers(DataType.INT64, [values.length], values), 'ints');
  }

  /** The value of a one-element constant initializer, if `name` is one. */
  constantScalar(name: string): number | undefined {
    const t = this.graph.initializers.get(name);
    return t && t.data.length === 1 ? elementValue(t, 0) : undefined;
  }

  facts(name: string): Facts {
    return this.shapes.require(name);
  }

  type(name: string): DataType {
    return this.facts(name).type;
  }

  shape(name: string): Dim[] | undefined {
    return this.facts(name).shape;
  }

  rank(name: string): number {
    const s = this.shape(name);
    if (!s) throw new Error(`the rank of value "${name}" is unknown`);
    return s.length;
  }

  /**
   * Shape(x), shared between rules. Where the shape table proves every dimension of x a constant,
   * a dimension of a graph input, or a product of those ("batch*sequence": the rows of a [-1, H]
   * reshape), the shape is assembled from them instead of read from x: onnxruntime runs a Shape
   * node just before its first reader, so a backward pass that needs only an activation's
   * dimensions would otherwise keep the whole activation alive until then.
   */
  shapeOf(x: string): string {
    return this.shapeAt(x, 0);
  }

  private shapeAt(x: string, depth: number): string {
    let s = this.shapeCache.get(x);
    if (!s) this.shapeCache.set(x, (s = this.shapeFromInputs(x) ?? this.shapeFromOperands(x, depth) ?? this.op('Shape', [x])));
    return s;
  }

  /**
   * A value's shape assembled from its operands' shapes, where its own dims are not all known: a
   * Shape of the value itself would keep it alive until the backward pass reads the shape.
   * DeBERTa's relative-position terms are the case: [B·heads, S, 2·buckets] products of q and k
   * with the position tables (48 MB each at base size) and their gathered [B·heads, S, S] parts,
   * whose shapes the gradients of the gather and of the scores' sum read; their operands are
   * smaller or kept anyway. Products (batch dims broadcast by Max, the left operand's rows, the
   * right one's columns), transposes, GatherElements (its indices' shape), and elementwise
   * operators (operands of one rank broadcast by Max, scalars left out); a few operators deep.
   */
  private shapeFromOperands(x: string, depth: number): string | undefined {
    const p = depth < 8 ? this.producerOf(x) : undefined;
    if (!p || p.domain !== '' || this.graph.inputs.some((i) => i.name === x)) return undefined;
    const rank = this.shape(x)?.length;
    const of = (v: string) => this.shapeAt(v, depth + 1);
    const part = (v: string, start: number, end: number) => this.op('Slice', [v, this.int64s([start]), this.int64s([end])]);
    if (p.op === 'MatMul') {
      const [a, b] = p.inputs.map((i) => this.shape(i));
      const r = a?.length;
      if (!a || !b || !r || r < 2 || b.length !== r) return undefined;
      const [sa, sb] = [of(p.inputs[0]), of(p.inputs[1])];
      const pieces: string[] = [];
      if (r > 2) pieces.push(a.slice(0, r - 2).every((d, k) => compareDims(d, b[k]) === 'equal') ? part(sa, 0, r - 2) : this.op('Max', [part(sa, 0, r - 2), part(sb, 0, r - 2)]));
      pieces.push(part(sa, r - 2, r - 1), part(sb, r - 1, r));
      return this.op('Concat', pieces, { axis: 0 });
    }
    if (p.op === 'Transpose') {
      const perm = p.attrs.get('perm');
      if (perm?.kind !== 'ints') return undefined;
      return this.op('Gather', [of(p.inputs[0]), this.int64s(perm.value)], { axis: 0 });
    }
    if (p.op === 'GatherElements') return of(p.inputs[1]);
    if (SAME_SHAPE.has(p.op)) return of(p.inputs[0]);
    if (BROADCASTING.has(p.op) && rank !== undefined) {
      // Operands of the output's rank; scalars (rank 0) broadcast to anything and are left out.
      const ranks = p.inputs.map((i) => this.shape(i)?.length);
      if (ranks.some((r) => r === undefined || (r !== rank && r !== 0))) return undefined;
      const full = p.inputs.filter((_, k) => ranks[k] === rank);
      if (!full.length) return undefined;
      const shapes = full.map(of);
      return shapes.length === 1 ? shapes[0] : this.op('Max', shapes);
    }
    return undefined;
  }

  private producers?: { nodes: Node[]; of: Map<string, Node> };
  /** The node that makes x, from a map remade whenever a pass has replaced nodes since. */
  private producerOf(x: string): Node | undefined {
    const cached = this.producers?.nodes === this.graph.nodes ? this.producers.of.get(x) : undefined;
    if (cached?.outputs.includes(x) && this.graph.nodes.includes(cached)) return cached;
    this.producers = { nodes: this.graph.nodes, of: this.graph.producers() };
    return this.producers.of.get(x);
  }

  private shapeFromInputs(x: string): string | undefined {
    const dims = this.shape(x);
    if (!dims || this.graph.inputs.some((i) => i.name === x)) return undefined;
    const pieces: string[] = [];
    let constants: number[] = [];
    const flush = () => {
      if (constants.length) pieces.push(this.int64s(constants));
      constants = [];
    };
    for (const d of dims) {
      if (typeof d === 'number') {
        constants.push(d);
        continue;
      }
      const piece = this.dimFromInputs(d);
      if (!piece) return undefined;
      flush();
      pieces.push(piece);
    }
    flush();
    if (pieces.length === 0) return this.int64s([]);
    return pieces.length === 1 ? pieces[0] : this.op('Concat', pieces, { axis: 0 });
  }

  /**
   * A [1] tensor holding the symbolic dimension `dim` read from the graph inputs: one input's axis,
   * or a product of such dimensions and a constant ("batch*sequence", a [-1, H] reshape of
   * [batch, sequence, H]); undefined where some factor is named by no input.
   */
  private dimFromInputs(dim: string): string | undefined {
    const read = (symbol: string) => this.readDim(symbol);
    const whole = read(dim);
    if (whole || !dim.includes('*')) return whole;
    let coef = 1;
    const factors: string[] = [];
    for (const part of dim.split('*')) {
      const n = Number(part);
      if (part !== '' && Number.isFinite(n)) {
        coef *= n;
        continue;
      }
      const f = read(part);
      if (!f) return undefined;
      factors.push(f);
    }
    if (coef !== 1) factors.push(this.int64s([coef]));
    return factors.reduce((a, f) => this.op('Mul', [a, f]));
  }

  /**
   * A [1] tensor holding the symbolic dimension `dim`: read from the graph input that names it, or,
   * for the count of a NonZero ("?7": the real rows paddingRows.ts finds), from that NonZero's
   * output, so that the rows' activations need not stay alive for it. Only a NonZero's own count:
   * elsewhere a run-time symbol may have been merged by broadcasting with another that is 1 at run
   * time, and only the value itself says its size.
   */
  private readDim(dim: string): string | undefined {
    const source = this.inputWithDim(dim) ?? (dim.startsWith('?') ? this.nonZeroCounting(dim) : undefined);
    return source && this.op('Shape', [source.input], { start: source.axis, end: source.axis + 1 });
  }

  private nonZeroCounting(dim: string): { input: string; axis: number } | undefined {
    const value = this.nonZeroCounts.get(dim);
    return value === undefined ? undefined : { input: value, axis: 1 };
  }

  /** A graph input and axis whose dimension is the symbolic dimension `dim`. */
  private inputWithDim(dim: string): { input: string; axis: number } | undefined {
    for (const i of this.graph.inputs) {
      const axis = this.shape(i.name)?.indexOf(dim) ?? -1;
      if (axis >= 0) return { input: i.name, axis };
    }
    return undefined;
  }

  /** A scalar constant with the element type of `like`. */
  scalarLike(value: number, like: string): string {
    return this.scalar(value, this.type(like));
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.op('ReduceSum', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.op('ReduceMean', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: number[]): string {
    return axes.length ? this.op('Unsqueeze', [x, this.int64s(axes)]) : x;
  }

  squeeze(x: string, axes: number[]): string {
    return axes.length ? this.op('Squeeze', [x, this.int64s(axes)]) : x;
  }

  reshape(x: string, shape: string | number[]): string {
    return this.op('Reshape', [x, typeof shape === 'string' ? shape : this.int64s(shape)]);
  }

  /** Reshapes x to the (run-time) shape of `like`. */
  reshapeLike(x: string, like: string): string {
    const s = this.shape(like);
    if (s && s.every((d) => typeof d === 'number')) return this.reshape(x, s as number[]);
    return this.reshape(x, this.shapeOf(like));
  }

  transpose(x: string, perm: number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    return this.op('Transpose', [x], { perm });
  }

  cast(x: string, to: DataType): string {
    return this.type(x) === to ? x : this.op('Cast', [x], { to });
  }

  /**
   * ScatterND / ScatterElements with reduction 'add'. Half-precision updates are summed in
   * float32 and rounded once: onnxruntime's CPU provider has no float16 scatter-add, and
   * repeated indices (a token used twice) lose less precision that way.
   */
  scatterAdd(op: 'ScatterND' | 'ScatterElements', data: string, indices: string, updates: string, attrs: Record<string, number> = {}): string {
    const t = this.type(data);
    if (t !== DataType.FLOAT16 && t !== DataType.BFLOAT16) return this.op(op, [data, indices, updates], { ...attrs, reduction: 'add' });
    const sum = this.op(op, [this.cast(data, DataType.FLOAT), indices, this.cast(updates, DataType.FLOAT)], { ...attrs, reduction: 'add' });
    return this.cast(sum, t);
  }

  /** Zeros of the type of `like`, with its shape or the given 1-D shape tensor. */
  zerosLike(like: string, shape: string = this.shapeOf(like)): string {
    const t = fromNumbers(this.type(like), [1], [0]);
    return this.op('ConstantOfShape', [shape], { value: t });
  }

  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }

  add2(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }

  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }

  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }

  neg(a: string): string {
    return this.op('Neg', [a]);
  }
}
