// Keeps values that arrive in NHWC in NHWC through the operators that do not care about layout.
// The small-image products (SmallConv and the small-image gradient forms, autodiff/rules/conv.ts)
// compute [N·H·W, C] and transpose it to NCHW; batch norm's arithmetic and statistics, ReLU, the
// residual adds and their gradients then run on NCHW, and the next product transposes back to
// NHWC. Here each such Transpose(u, [0, 3, 1, 2]) is a seed: the operators after it that are
// elementwise, or reduce with dims kept, get a twin computing on u's layout (the per-channel
// operands reshaped from [·, C, 1, 1] to [·, 1, 1, C], the same bytes), and a Transpose of a value
// that has a twin reads the twin with the two permutations composed — nothing at all where they
// cancel, as before the next product. Where an operator outside that set still reads a value,
// the value is the twin transposed back. The arithmetic is unchanged (each operator meets the
// same pairs of elements), so results are the same bits, except a reduction's order of addition.
// A rewrite of each CPU session's graph, like channelBroadcast.ts: the compiled programs stay as
// they are. It starts only from small images (SMALL_IMAGE), and is kept only where it leaves
// fewer elements to transpose than before.

import { GraphBuilder } from '../onnx/builder';
import { Graph, Node, attrInt, attrInts, dropUnread } from '../onnx/graph';
import { isStatic, normalizeAxis } from '../onnx/shapes/dims';
import { SMALL_IMAGE } from '../autodiff/rules/conv';
import { sizeOf } from '../onnx/tensor';

/** NHWC → NCHW: the seeds' permutation. */
const TO_NCHW = [0, 3, 1, 2];
/** What a twin is: the value transposed by this (NCHW → NHWC). */
const TO_NHWC = [0, 2, 3, 1];

/** A value's axis `a` (possibly negative) is its twin's axis twinAxis(a). */
const twinAxis = (a: number) => TO_NCHW[normalizeAxis(a, 4)];

/** Operators that compute each output element from the elements at the same (broadcast) index. */
const ELEMENTWISE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Sum', 'Max', 'Min', 'Where', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or',
  'Relu', 'HardSigmoid', 'Neg', 'Abs', 'Sign', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Cast', 'Identity',
]);

/** Reductions whose axes the twin remaps (dims kept only: the result keeps rank 4). */
const REDUCTIONS = new Set(['ReduceSum', 'ReduceMean', 'ReduceSumSquare', 'ReduceMax', 'ReduceMin']);

function compose(first: number[], then: number[]): number[] {
  // Transpose(Transpose(x, first), then) = Transpose(x, c) with c[i] = first[then[i]].
  return then.map((i) => first[i]);
}

const isIdentity = (p: number[]) => p.every((v, i) => v === i);

/** What a symbolic axis (the batch) counts as when Transposes are weighed against each other. */
const SYMBOLIC_SIZE = 32;

/** Elements the Transposes write (outputs of unknown rank count as none). */
export function transposedElements(b: GraphBuilder, nodes: Node[]): number {
  let total = 0;
  for (const n of nodes) {
    if (n.op !== 'Transpose' || n.domain !== '') continue;
    const s = b.shapes.get(n.outputs[0])?.shape;
    if (s) total += s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : SYMBOLIC_SIZE), 1);
  }
  return total;
}

/** The reduction's axes where they are known (attribute, or a constant input), else undefined. */
function reductionAxes(b: GraphBuilder, n: Node): number[] | undefined {
  const attr = attrInts(n, 'axes');
  if (attr) return attr;
  const known = n.inputs[1] ? b.shapes.get(n.inputs[1])?.value : undefined;
  return known?.every((a) => typeof a === 'number') ? (known as number[]) : undefined;
}

/**
 * The graph with values kept in NHWC after each seed, or undefined where there is no seed or the
 * rewrite would not transpose fewer elements.
 */
export function keepChannelsLast(graph: Graph): Graph | undefined {
  if (!graph.nodes.some((n) => n.op === 'Transpose' && n.domain === '' && attrInts(n, 'perm')?.join() === TO_NCHW.join())) return undefined;
  const g = graph.clone();
  const b = new GraphBuilder(g);
  const before = transposedElements(b, g.nodes);
  /** Value → its twin, the value transposed by TO_NHWC. */
  const twin = new Map<string, string>();
  /** Transposes to NCHW of values without a twin: their input is their output's twin. */
  const seeds = new Set<Node>();
  /** Originals with a twin: where still read at the end, they become the twin transposed back. */
  const shadowed = new Set<Node>();
  /** Outputs of Transposes that cancel: read as the twin itself. */
  const renamed = new Map<string, string>();
  const reshaped = new Map<string, string>();
  const result: Node[] = [];
  const rank4 = (v: string) => b.shapes.get(v)?.shape?.length === 4;
  /**
   * Only images of at most SMALL_IMAGE positions (the small-image products' own limit) are kept in
   * NHWC: onnxruntime reduces [N, H, W, C] over [0, 1, 2] far more slowly than [N, C, H, W] over
   * [2, 3] then [0] once images are larger. Batch norm's forward and backward operators alone,
   * batch 32, NCHW / NHWC: [64, 56, 56] 21–26 / 65–73 ms (each reduction ~8 ms against 0.4–0.8);
   * [256, 14, 14] 4.9–6.0 / 7.5–9.5; [512, 7, 7] 3.1–4.2 / 3.7–4.7 (docs/PERFORMANCE.md).
   */
  const smallImage = (v: string) => {
    const [h, w] = b.shapes.get(v)?.shape?.slice(2) ?? [];
    return typeof h === 'number' && typeof w === 'number' && h * w <= SMALL_IMAGE;
  };

  /**
   * A per-channel operand's shape as rank 4 — static, broadcast over both image axes — or
   * undefined for any other.
   */
  const perChannel = (v: string): number[] | undefined => {
    const s = b.shapes.get(v)?.shape;
    if (!isStatic(s) || s.length > 4) return undefined;
    const s4 = [...Array<number>(4 - s.length).fill(1), ...s];
    return s4[2] === 1 && s4[3] === 1 ? s4 : undefined;
  };
  /** A per-channel operand as the twins' layout reads it: [·, C, 1, 1] and [·, 1, 1, C] hold the same bytes. */
  const asTwinOperand = (v: string, s4: number[]): string => {
    if (sizeOf(s4) === 1) return v;
    let r = reshaped.get(v);
    if (!r) reshaped.set(v, (r = b.reshape(v, TO_NHWC.map((a) => s4[a]))));
    return r;
  };

  for (const n of g.nodes.splice(0)) {
    n.inputs = n.inputs.map((i) => renamed.get(i) ?? i);
    if (n.domain !== '') {
      result.push(n);
      continue;
    }
    if (n.op === 'Transpose' && rank4(n.inputs[0])) {
      const perm = attrInts(n, 'perm')!;
      const source = twin.get(n.inputs[0]);
      if (source !== undefined) {
        // n reads v = Transpose(source, TO_NCHW): read the source with the permutations composed.
        const c = compose(TO_NCHW, perm);
        n.inputs = [source];
        if (!isIdentity(c)) {
          n.attrs.set('perm', { kind: 'ints', value: c });
        } else if (g.outputs.some((o) => o.name === n.outputs[0])) {
          Object.assign(n, { op: 'Identity', attrs: new Map() });
        } else {
          renamed.set(n.outputs[0], source);
          continue;
        }
      } else if (perm.join() === TO_NCHW.join() && smallImage(n.outputs[0])) {
        twin.set(n.outputs[0], n.inputs[0]);
        seeds.add(n);
      }
      result.push(n);
      continue;
    }
    if (REDUCTIONS.has(n.op) && twin.has(n.inputs[0]) && attrInt(n, 'keepdims', 1) === 0 && attrInt(n, 'noop_with_empty_axes', 0) === 0) {
      // Without dims kept, the axes left over come out in their order: the same result from the
      // twin where that order is the same there (the final pooling's [N, C, H, W] → [N, C]).
      const axes = reductionAxes(b, n)?.map((a) => normalizeAxis(a, 4));
      const kept = [0, 1, 2, 3].filter((a) => !axes?.includes(a)).map(twinAxis);
      if (axes?.length && kept.every((a, k) => k === 0 || a > kept[k - 1])) {
        n.inputs = [twin.get(n.inputs[0])!, ...(n.attrs.has('axes') ? [] : [b.int64s(axes.map(twinAxis))])];
        if (n.attrs.has('axes')) n.attrs.set('axes', { kind: 'ints', value: axes.map(twinAxis) });
        result.push(...g.nodes.splice(0), n);
        continue;
      }
    }
    if (n.op === 'GlobalAveragePool' && twin.has(n.inputs[0]) && rank4(n.outputs[0])) {
      // [N, C, 1, 1] is the twin's mean over its image axes, [N, 1, 1, C].
      twin.set(n.outputs[0], b.op('ReduceMean', [twin.get(n.inputs[0])!, b.int64s([1, 2])], { keepdims: 1 }));
      result.push(...g.nodes.splice(0));
      shadowed.add(n);
      result.push(n);
      continue;
    }
    if (n.op === 'Size' && twin.has(n.inputs[0])) {
      n.inputs = [twin.get(n.inputs[0])!];
      result.push(n);
      continue;
    }
    const lifted = liftedInputs(n);
    if (lifted) {
      const attrs = new Map(n.attrs);
      let inputs = lifted;
      if (REDUCTIONS.has(n.op)) {
        const axes = reductionAxes(b, n)!.map(twinAxis);
        if (attrs.has('axes')) attrs.set('axes', { kind: 'ints', value: axes });
        else inputs = [lifted[0], b.int64s(axes)];
      }
      const outs = b.add(n.op, inputs, attrs, { outputs: n.outputs.length });
      result.push(...g.nodes.splice(0));
      n.outputs.forEach((o, k) => twin.set(o, outs[k]));
      shadowed.add(n);
    }
    result.push(n);
  }

  /** The twin inputs of n, or undefined where n cannot run on them. */
  function liftedInputs(n: Node): string[] | undefined {
    const reduction = REDUCTIONS.has(n.op);
    if (!ELEMENTWISE.has(n.op) && !reduction) return undefined;
    if (n.outputs.some((o) => !rank4(o))) return undefined;
    if (!n.inputs.some((i) => twin.has(i))) return undefined;
    if (reduction) {
      if (!twin.has(n.inputs[0]) || attrInt(n, 'keepdims', 1) !== 1 || attrInt(n, 'noop_with_empty_axes', 0) !== 0) return undefined;
      const axes = reductionAxes(b, n);
      if (!axes?.length) return undefined;
      return [twin.get(n.inputs[0])!];
    }
    // Operands of the output's full shape without a twin enter the layout by a Transpose of
    // their own (the gradients the small-image products leave in NCHW), which later Transposes
    // to NHWC then cancel; anything else must be per-channel.
    const out = b.shapes.get(n.outputs[0])?.shape?.join();
    const kinds = n.inputs.map((i) => {
      if (!i || twin.has(i)) return 'twin' as const;
      const s4 = perChannel(i);
      if (s4) return s4;
      return b.shapes.get(i)?.shape?.join() === out ? ('full' as const) : undefined;
    });
    if (kinds.includes(undefined)) return undefined;
    return n.inputs.map((i, k) => {
      const kind = kinds[k]!;
      if (kind === 'twin') return i && twin.get(i)!;
      if (kind !== 'full') return asTwinOperand(i, kind);
      const entered = b.transpose(i, TO_NHWC);
      twin.set(i, entered);
      return entered;
    });
  }

  // Every shadowed original becomes its twin transposed back — a Reshape where only axes of 1
  // move, as for the statistics [1, C, 1, 1] — and those nothing reads then go.
  // The seeds stay as they are (each restores its own value); they go where nothing reads them.
  const candidates = new Set<Node>(seeds);
  for (const n of shadowed) {
    if (seeds.has(n)) continue;
    const restored = n.outputs.map((o): Node => {
      // [N, C, 1, 1] and [N, 1, 1, C] hold the same bytes (a symbolic batch is Reshape's 0: kept).
      const shape = b.shapes.get(o)?.shape;
      const reshape = shape?.length === 4 && shape[2] === 1 && shape[3] === 1 && typeof shape[1] === 'number';
      const [op, inputs, attrs] = reshape
        ? ['Reshape', [twin.get(o)!, b.int64s(shape.map((d) => (typeof d === 'number' ? d : 0)))], new Map()]
        : ['Transpose', [twin.get(o)!], new Map([['perm', { kind: 'ints' as const, value: TO_NCHW }]])];
      return { ...n, name: b.fresh(`${n.name}_nchw`), op, inputs, outputs: [o], attrs } as Node;
    });
    result.splice(result.indexOf(n), 1, ...restored);
    restored.forEach((r) => candidates.add(r));
  }
  const kept = dropUnread(result, candidates, new Set(g.outputs.map((o) => o.name)));
  if (transposedElements(b, kept) >= before) return undefined;
  g.nodes = kept;
  return g;
}
