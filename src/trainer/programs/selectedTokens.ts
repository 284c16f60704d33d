// Computes only the tokens a decoder's classifier reads. GPT-2's, Llama's and the other decoders'
// sequence classification heads score every position and then take, per sequence, the last
// non-padding token: `logits[arange(B), last]`, with `last` computed from the input ids. The
// TorchScript exporter writes that as a Gather of the flat row numbers b·S + last[b] from the
// scores flattened to [B·S, labels], the dynamo exporter as a GatherND of the pairs (b, last[b]).
// Unlike selectedRows.ts's constant token, the rows are known only at run time and differ from
// sequence to sequence, so the selection is kept as flat row numbers f over the merged leading
// (batch, sequence) axes of a value x: Gather(Reshape(x, [-1, trailing dims]), f). This pass moves
// that selection up through the operators that compute each such row on its own — elementwise
// ones, products with a weight, norms and softmaxes over the trailing axes, reshapes and
// transposes that keep the leading axes — until it reaches a value something else reads whole, or
// an operator that mixes rows. In a decoder's last layer that is the attention (its heads'
// transposes put the sequence axis between others) and the residual stream entering the layer:
// the attention's output projection, the feed-forward block, the norms after the attention and
// the score then run for one token per sequence, in both passes — three quarters of the layer's
// products. The rows the head reads are computed by the same operators on the same operands.

import { GraphBuilder } from '../onnx/builder';
import { Dim, Graph, Node, attrInt, attrInts, sortTopologically } from '../onnx/graph';
import { Facts, ShapeTable } from '../onnx/shapes';
import { compareDims, normalizeAxis } from '../onnx/shapes/dims';
import { DataType, Tensor, fromNumbers, isFloatType, sizeOf } from '../onnx/tensor';
import { NodeIndex } from './nodeIndex';
import { ELEMENTWISE } from './selectedRows';

/**
 * How the selected rows reach one input: its own leading axes merged (with its trailing dims where
 * the operator knows them better than shape inference), or not at all (it broadcasts over them).
 */
type Route = { rows: number; trailing?: number[] } | { whole: true; squeeze: number };

interface Plan {
  routes: (Route | undefined)[];
  /** Inputs replaced by a new constant (a Reshape's target shape, a reduction's axes). */
  constants?: Map<number, Tensor>;
  /** Attributes of the moved node that change (axes counted in the selected value's rank). */
  attrs?: Map<string, number | number[]>;
}

interface RuleInput {
  node: Node;
  /** How many leading axes of the node's (first) output the flat row numbers run over. */
  m: number;
  /** The shape of the node's output before the selection. */
  out: readonly Dim[];
  facts(i: number): Facts | undefined;
}

type Rule = (c: RuleInput) => Plan | undefined;

/** One dim of a shape read again from the graph's inputs: a number, or axis `at` of an input. */
type DimSource = { input: string; at: number } | { value: number };

const known = (dims: readonly Dim[]): dims is number[] => dims.every((d) => typeof d === 'number' && d > 0);
/** An axis ≥ m of the output, counted in the selected value, whose m leading axes became one. */
const shifted = (axis: number, m: number) => axis - m + 1;

/** How the rows reach an operand broadcast against the output (numpy rules, right-aligned). */
function operandRoute(c: RuleInput, i: number): Route | undefined {
  if (!c.node.inputs[i]) return WHOLE;
  const shape = c.facts(i)?.shape;
  if (!shape) return undefined;
  const offset = c.out.length - shape.length;
  if (offset >= c.m) return WHOLE;
  if (offset > 0) return undefined;
  const lead = shape.slice(0, c.m);
  if (lead.every((d, k) => compareDims(d, c.out[k]) === 'equal')) return { rows: c.m };
  // Ones on every merged axis: the operand keeps one of them, as the selected value has one axis there.
  if (lead.every((d) => d === 1)) return { whole: true, squeeze: c.m - 1 };
  return undefined;
}

/** A normalizing operator along `axis` (Softmax, LayerNormalization): the axis must be a trailing one. */
function alongTrailingAxis(operands: number): Rule {
  return (c) => {
    const axis = normalizeAxis(attrInt(c.node, 'axis', -1), c.out.length);
    if (axis < c.m) return undefined;
    const routes: Route[] = [{ rows: c.m }, ...Array.from({ length: operands - 1 }, () => WHOLE)];
    return { routes, attrs: new Map([['axis', shifted(axis, c.m)]]) };
  };
}

const WHOLE: Route = { whole: true, squeeze: 0 };
const REDUCTIONS = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceL2', 'ReduceProd'];

const RULES: Record<string, Rule> = {
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, (c: RuleInput) => ({ routes: c.node.inputs.map((_, i) => operandRoute(c, i)) })])),
  MatMul: (c) => {
    const [a, w] = [c.facts(0)?.shape, c.facts(1)?.shape];
    // A weight without batch axes: each row of the left operand gives one row of the product. The
    // left operand's last dim is the weight's first (shape inference may have lost it behind a
    // Reshape to [.., -1, head_dim], as an attention's merged heads are).
    if (!a || !w || w.length !== 2 || a.length !== c.out.length || c.m > a.length - 1) return undefined;
    const trailing = c.m === a.length - 1 && typeof w[0] === 'number' ? [w[0]] : undefined;
    return { routes: [{ rows: c.m, trailing }, WHOLE] };
  },
  Gemm: (c) => (c.m === 1 && !attrInt(c.node, 'transA', 0) ? { routes: [{ rows: 1 }, WHOLE, operandRoute(c, 2)] } : undefined),
  LayerNormalization: alongTrailingAxis(3),
  Softmax: alongTrailingAxis(1),
  LogSoftmax: alongTrailingAxis(1),
  ...Object.fromEntries(REDUCTIONS.map((op) => [op, reductionRows])),
  Reshape: reshapeRows,
  Flatten: (c) => {
    const input = c.facts(0)?.shape;
    if (!input || c.m !== 1) return undefined;
    const axis = normalizeAxis(attrInt(c.node, 'axis', 1), input.length);
    return axis >= 1 ? { routes: [{ rows: axis }], attrs: new Map([['axis', 1]]) } : undefined;
  },
  Slice: sliceRows,
  Transpose: (c) => {
    const perm = attrInts(c.node, 'perm') ?? c.out.map((_, i) => c.out.length - 1 - i);
    if (perm.slice(0, c.m).some((p, i) => p !== i)) return undefined;
    return { routes: [{ rows: c.m }], attrs: new Map([['perm', [0, ...perm.slice(c.m).map((p) => shifted(p, c.m))]]]) };
  },
};

/** A reduction over trailing axes only (axes given as a constant input, opset 18 and newer). */
function reductionRows(c: RuleInput): Plan | undefined {
  const input = c.facts(0)?.shape;
  const axes = c.node.inputs[1] ? c.facts(1)?.value : undefined;
  if (!input || !axes?.length || !axes.every((a) => typeof a === 'number')) return undefined;
  const normalized = (axes as number[]).map((a) => normalizeAxis(a, input.length));
  if (normalized.some((a) => a < c.m)) return undefined;
  const moved = normalized.map((a) => shifted(a, c.m));
  return { routes: [{ rows: c.m }, WHOLE], constants: new Map([[1, fromNumbers(DataType.INT64, [moved.length], moved)]]) };
}

/**
 * A Slice along trailing axes only (axes given as a constant input): GPT-NeoX's and Phi-3's fused
 * q/k/v and gate/up projections cut apart. Starts, ends and steps hold one value per sliced axis,
 * whatever the rows; the axes are counted again in the selected value.
 */
function sliceRows(c: RuleInput): Plan | undefined {
  const axes = c.node.inputs[3] ? c.facts(3)?.value : undefined;
  if (!axes?.length || !axes.every((a) => typeof a === 'number')) return undefined;
  const normalized = (axes as number[]).map((a) => normalizeAxis(a, c.out.length));
  if (normalized.some((a) => a < c.m)) return undefined;
  const moved = normalized.map((a) => shifted(a, c.m));
  return { routes: [{ rows: c.m }, WHOLE, WHOLE, WHOLE, WHOLE], constants: new Map([[3, fromNumbers(DataType.INT64, [moved.length], moved)]]) };
}

/**
 * A Reshape whose trailing dims (after the merged axes) hold as many elements on both sides, all
 * known: the leading axes then hold as many rows on both sides, in the same order. Its target
 * shape becomes [-1, trailing dims], since the exporters compute it from the unselected shape.
 */
function reshapeRows(c: RuleInput): Plan | undefined {
  const input = c.facts(0)?.shape;
  const tail = c.out.slice(c.m);
  if (!input || !known(tail)) return undefined;
  for (let m = 1; m < input.length + 1; m++) {
    const tailIn = input.slice(m);
    if (!known(tailIn) || sizeOf(tailIn) !== sizeOf(tail)) continue;
    return { routes: [{ rows: m }, WHOLE], constants: new Map([[1, fromNumbers(DataType.INT64, [tail.length + 1], [-1, ...tail])]]) };
  }
  return undefined;
}

/**
 * The flat row numbers b·S + s of GatherND's (batch, position) pairs [K, 2] over two leading axes
 * of sizes `dims` ([2]: B, S). Negative numbers count from the end, as GatherND counts them: Mod
 * by the axis' size (ONNX's integer Mod takes the divisor's sign).
 */
export function flatRowsOfPairs(b: GraphBuilder, pairs: string, dims: string): string {
  const size = (k: number) => b.op('Gather', [dims, b.int64s([k])], { axis: 0 });
  const column = (k: number) => b.op('Gather', [pairs, b.int64s([k])], { axis: 1 });
  const [rows, length] = [size(0), size(1)];
  const start = b.op('Mul', [b.op('Mod', [column(0), rows]), length]);
  return b.squeeze(b.op('Add', [start, b.op('Mod', [column(1), length])]), [1]);
}

/**
 * Moves every Gather of rows chosen at run time (see the header) as close to the graph's inputs as
 * the operators allow; a GatherND of (batch, position) pairs becomes such a Gather first. Values
 * named in `keep` (what the loss head reads), graph outputs and values read by subgraphs are never
 * replaced by their selected rows. Returns the number of operators that now compute selected rows only.
 */
export function computeSelectedTokensOnly(graph: Graph, keep: ReadonlySet<string>): number {
  const shapes = new ShapeTable(graph).inferAll();
  const index = new NodeIndex(graph, keep);
  const { held, producers, live } = index;
  // New nodes come from a builder over the same graph and facts (appended, with their shapes
  // inferred); the graph is sorted once at the end.
  const b = new GraphBuilder(graph, shapes);
  /** Appends what `build` adds through the builder, tracked; returns build's result. */
  const building = <T>(build: () => T): T => {
    const mark = graph.nodes.length;
    const result = build();
    index.track(graph.nodes.slice(mark));
    return result;
  };
  const remove = (old: Node) => index.replace(old);
  /** Gathers made here (they may select any type, masks included), and the Reshapes that merge a value's leading axes for them, with how many. */
  const made = new Set<string>();
  const merges = new Map<string, { data: string; m: number }>();
  /** Whether rows of `v` over its `m` leading axes can be selected: more than one merged axis needs the trailing dims. */
  const selectable = (v: string, m: number, trailing?: number[]) => {
    const shape = shapes.get(v)?.shape;
    return !!shape && shape.length >= m && (m === 1 || known(trailing ?? shape.slice(m)));
  };
  /** Rows `f` of `v` over its `m` leading axes (undefined where they cannot be selected). */
  const rowsOf = (v: string, m: number, f: string, output?: string, trailing?: number[]): string | undefined => {
    if (!selectable(v, m, trailing)) return undefined;
    const shape = shapes.get(v)!.shape!;
    return building(() => {
      let data = v;
      if (m > 1) {
        data = b.reshape(v, [-1, ...(trailing ?? (shape.slice(m) as number[]))]);
        merges.set(data, { data: v, m });
      }
      const [rows] = b.add('Gather', [data, f], { axis: 0 }, output ? { outputs: [output] } : {});
      made.add(rows);
      return rows;
    });
  };

  /** The selection a Gather makes, when it is one this pass moves: rows f of `data` over its m leading axes. */
  const selection = (g: Node) => {
    if (g.op !== 'Gather' || g.domain !== '' || attrInt(g, 'axis', 0) !== 0 || graph.initializers.has(g.inputs[1])) return undefined;
    const idx = shapes.get(g.inputs[1]);
    if (!idx?.shape || idx.shape.length !== 1) return undefined;
    const merged = merges.get(g.inputs[0]);
    if (merged) return { ...merged, via: producers.get(g.inputs[0]) };
    const data = shapes.get(g.inputs[0]);
    // The model's own selections of floating-point values start; those made here may select masks.
    if (!data?.shape || !(made.has(g.outputs[0]) || isFloatType(data.type))) return undefined;
    return { data: g.inputs[0], m: 1, via: undefined };
  };

  /**
   * The selections of rows `f` over `m` leading axes of `v` among `readers` (each a Gather, behind
   * its merging Reshape where m > 1), or undefined where one of them is anything else.
   */
  const selectionsOf = (readers: Iterable<Node>, v: string, m: number, f: string): { gather: Node; merge?: Node }[] | undefined => {
    const found: { gather: Node; merge?: Node }[] = [];
    for (const r of readers) {
      const merge = m > 1 ? r : undefined;
      if (merge && (merges.get(merge.outputs[0])?.m !== m || held.has(merge.outputs[0]) || index.readers(merge.outputs[0]).size !== 1)) return undefined;
      const gather = merge ? [...index.readers(merge.outputs[0])][0] : r;
      if (gather.inputs[1] !== f || selection(gather)?.data !== v || held.has(gather.outputs[0])) return undefined;
      found.push({ gather, merge });
    }
    return found;
  };
  /** Removes those selections, their readers reading `into` instead (the same rows, computed once). */
  const absorb = (picks: { gather: Node; merge?: Node }[], into: string) => {
    for (const { gather, merge } of picks) {
      if (gather.outputs[0] !== into) for (const reader of [...index.readers(gather.outputs[0])]) index.rewire(reader, gather.outputs[0], into);
      remove(gather);
      if (merge) remove(merge);
    }
  };

  const moveUp = (g: Node): boolean => {
    const sel = selection(g);
    if (!sel) return false;
    const x = sel.data;
    const p = producers.get(x);
    if (!p || p.domain !== '' || held.has(x)) return false;
    if (sel.via && index.readElsewhere(g.inputs[0], g)) return false;
    if (p.op === 'Split') return moveThroughSplit(g, sel.m, p);
    if (p.outputs.slice(1).some((o) => o && index.readElsewhere(o))) return false;
    // Only a value nothing else reads but for its shape, or to select the very same rows (each
    // operator it feeds was moved above): its selected rows replace it.
    const others = [...index.readers(x)].filter((r) => r !== (sel.via ?? g));
    const shapeReaders = others.filter((r) => r.op === 'Shape');
    const twins = selectionsOf(others.filter((r) => r.op !== 'Shape'), x, sel.m, g.inputs[1]);
    if (!twins) return false;
    const rule = RULES[p.op];
    const out = shapes.get(x)?.shape;
    if (!rule || !out || (shapeReaders.length && !dimSources(out))) return false;
    const plan = rule({ node: p, m: sel.m, out, facts: (i) => (p.inputs[i] ? shapes.get(p.inputs[i]) : undefined) });
    if (!plan || plan.routes.some((r) => r === undefined)) return false;
    const routes = plan.routes as Route[];
    // Every selected operand must be selectable (checked before anything changes).
    if (p.inputs.some((v, i) => v && !plan.constants?.has(i) && 'rows' in routes[i] && !selectable(v, routes[i].rows, routes[i].trailing))) return false;
    const inputs = p.inputs.map((v, i) => {
      const c = plan.constants?.get(i);
      if (c) return b.constant(c, `${p.name}/${i}`);
      const route = routes[i];
      if (!v) return v;
      if ('whole' in route) return route.squeeze ? building(() => b.squeeze(v, Array.from({ length: route.squeeze }, (_, k) => k))) : v;
      return rowsOf(v, route.rows, g.inputs[1], undefined, route.trailing)!;
    });
    const attrs = new Map(p.attrs);
    for (const [k, v] of plan.attrs ?? []) attrs.set(k, Array.isArray(v) ? { kind: 'ints', value: v } : { kind: 'int', value: v });
    if (p.op === 'Reshape') attrs.delete('allowzero');
    const moved: Node = { ...p, inputs, outputs: [g.outputs[0]], attrs };
    // Whatever read x's shape (the exporters compute the rows' numbers from it) reads the same
    // dims taken from the graph's inputs.
    for (const r of shapeReaders) {
      const start = attrInt(r, 'start', 0);
      const end = r.attrs.has('end') ? attrInt(r, 'end', out.length) : out.length;
      const dims = out.slice(start < 0 ? start + out.length : start, end < 0 ? end + out.length : end);
      remove(r);
      building(() => shapeFromInputs(dimSources(dims)!, r.outputs[0]));
    }
    absorb(twins, g.outputs[0]);
    remove(g);
    if (sel.via) remove(sel.via);
    remove(p);
    graph.nodes.push(moved);
    index.track([moved]);
    p.inputs.forEach((v, i) => plan.constants?.has(i) && index.dropIfUnread(v));
    return true;
  };

  /**
   * A Split along a trailing axis (Phi-3's gate and up halves as the dynamo exporter writes them)
   * whose every output is read only by selections of the same rows as `g`: one Split of the
   * selected rows replaces it and them.
   */
  const moveThroughSplit = (g: Node, m: number, p: Node): boolean => {
    const out = shapes.get(p.outputs[0])?.shape;
    if (!out || normalizeAxis(attrInt(p, 'axis', 0), out.length) < m || !selectable(p.inputs[0], m)) return false;
    const picks = p.outputs.map((o) => (o ? selectionsOf(index.readers(o), o, m, g.inputs[1]) : []));
    if (p.outputs.some((o) => o && held.has(o)) || picks.some((x) => x === undefined)) return false;
    const input = rowsOf(p.inputs[0], m, g.inputs[1])!;
    // Each output keeps its first selection's name; the others read that one.
    const outputs = p.outputs.map((o, k) => {
      const into = picks[k]![0]?.gather.outputs[0] ?? o;
      absorb(picks[k]!, into);
      return into;
    });
    const attrs = new Map(p.attrs);
    attrs.set('axis', { kind: 'int', value: shifted(normalizeAxis(attrInt(p, 'axis', 0), out.length), m) });
    const moved: Node = { ...p, inputs: [input, ...p.inputs.slice(1)], outputs, attrs };
    remove(p);
    graph.nodes.push(moved);
    index.track([moved]);
    return true;
  };

  /**
   * Where each of `dims` can be read from the graph's inputs' shapes (a named dim is the same size
   * wherever shape inference gave it that name), or undefined where a dim is neither a number nor
   * named by some input's shape.
   */
  const dimSources = (dims: readonly Dim[]): DimSource[] | undefined => {
    const sources = dims.map((d): DimSource | undefined => {
      if (typeof d === 'number') return d >= 0 ? { value: d } : undefined;
      for (const input of graph.inputs) {
        const at = input.shape?.indexOf(d) ?? -1;
        if (at >= 0) return { input: input.name, at };
      }
      return undefined;
    });
    return sources.every((x) => x !== undefined) ? (sources as DimSource[]) : undefined;
  };
  /** The 1-D shape tensor those sources give, written to `output`. */
  const shapeFromInputs = (sources: DimSource[], output: string): string => {
    const parts = sources.map((x) => ('value' in x ? b.int64s([x.value]) : b.op('Shape', [x.input], { start: x.at, end: x.at + 1 })));
    return b.add('Concat', parts.length ? parts : [b.int64s([])], { axis: 0 }, { outputs: [output] })[0];
  };

  /**
   * GatherND(x, pairs) with pairs [K, 2] of (batch, position) and no batch dims equals rows
   * b·S + s of x's two leading axes merged (flatRowsOfPairs), which this pass moves.
   */
  const flattenPairs = (g: Node): boolean => {
    const x = shapes.get(g.inputs[0]);
    const pairs = shapes.get(g.inputs[1]);
    if (attrInt(g, 'batch_dims', 0) !== 0 || !x?.shape || !isFloatType(x.type) || x.shape.length < 3 || !known(x.shape.slice(2))) return false;
    if (pairs?.shape?.length !== 2 || pairs.shape[1] !== 2 || pairs.type !== DataType.INT64) return false;
    const flat = building(() => flatRowsOfPairs(b, g.inputs[1], b.op('Shape', [g.inputs[0]], { end: 2 })));
    remove(g);
    rowsOf(g.inputs[0], 2, flat, g.outputs[0]);
    return true;
  };

  let changed = 0;
  for (const g of [...graph.nodes]) if (g.op === 'GatherND' && g.domain === '' && flattenPairs(g)) changed++;
  let moves = 0;
  for (let progress = true; progress; ) {
    progress = false;
    for (const g of [...graph.nodes]) {
      if (live.has(g) && moveUp(g)) {
        progress = true;
        moves++;
      }
    }
  }
  // New nodes were appended, and the rows' numbers are computed after the layers they now select from.
  if (moves || changed) sortTopologically(graph);
  return moves;
}
