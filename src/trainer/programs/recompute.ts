// Values the backward pass recomputes instead of keeping them alive from the forward pass.
//
// Gradient checkpointing (recomputeActivations): kept values are the graph inputs, the
// initializers and the forward values read by more than one forward node — branch points such as
// a transformer's residual stream. Every other forward value a backward node reads is recomputed
// from kept values by a clone of its producers, placed just before its first backward use, so
// onnxruntime frees the originals after the forward pass and holds one layer's activations at a
// time during the backward pass.
//
// Attention probabilities (recomputeCheapValues, attentionChains), always: softmax(q·kᵀ·scale +
// mask) is as large as [batch, heads, sequence, sequence] and the backward pass reads it (for the
// softmax's gradient and for dV = pᵀ·dO), while q and k, which the backward pass keeps anyway for
// the scores' own gradient, take sequence/head_dim times less room. Recomputing it from them, one
// layer at a time in the backward pass, is what PyTorch's scaled_dot_product_attention does (it
// keeps only the softmax's log-sum-exp). BERT-base at 16 × 256 keeps 12 such tensors of 50 MB
// each otherwise.
//
// Elementwise results over kept operands (recomputeCheapValues, cheapRemakes), always:
// GELU(h) is read by the next product's weight gradient, while h is kept anyway for GELU's own
// gradient, so the output — as large as h, [tokens, 4 × hidden] in a transformer's feed-forward
// block — can be remade by one elementwise pass just before its backward use instead of living
// through the backward pass. PyTorch keeps both. Short chains are remade the same way where their
// leaves are kept: RMSNorm's cast(x · rsqrt(mean(x²) + ε)), read by its scale's gradient, from x
// and the [tokens, 1] rsqrt.
//
// Layer normalizations' outputs (recomputeCheapValues, cheapRemakes), always: a transformer
// layer's two LayerNorm outputs are read by the next products' weight gradients, while the
// LayerNorm's own gradient keeps its input (the residual sum) — so the output, [tokens, hidden],
// is remade from that input, the scale and the bias by one LayerNormalization pass before its
// backward use. A view of it (GPT-2's Conv1D flattens it to [tokens, hidden] before its Gemm) is
// remade with it. PyTorch keeps both.

import { COMPOSITE_DOMAIN } from '../autodiff/composites';
import { Dim, Graph, Node } from '../onnx/graph';

export interface RecomputeStats {
  /** Forward nodes cloned into the backward pass. */
  cloned: number;
}

/**
 * Rewrites the backward section (nodes from `backwardStart` on) of `graph` to read recomputed
 * activations. `fresh` makes unique value names.
 */
export function recomputeActivations(graph: Graph, backwardStart: number, fresh: (hint: string) => string): RecomputeStats {
  const { producer } = forwardFacts(graph, backwardStart);
  const uses = new Map<string, number>();
  for (const n of graph.nodes.slice(0, backwardStart)) for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  return rematerialize(graph, backwardStart, fresh, (v) => producer.has(v) && (uses.get(v) ?? 0) <= 1 && !outputs.has(v));
}

/** Operators a recomputed attention chain may run: the scores' product, scaling, masking, softmax. */
const CHAIN_OPS = new Set(['MatMul', 'Mul', 'Div', 'Add', 'Sub', 'Where', 'Cast', 'Softmax', 'Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'NanSafeSoftmax']);
/** The chain's operators that broadcast an operand to their output's shape. */
const BROADCASTING = new Set(['Mul', 'Div', 'Add', 'Sub', 'Where']);
/** Nodes one chain may clone (BERT's: MatMul, Div, Add, softmax; a Transpose or Cast more elsewhere). */
const MAX_CHAIN = 8;

/** Which cheap recomputations recomputeCheapValues makes (both by default). */
export interface CheapRecompute {
  /** The attention probabilities (attentionChains). */
  attention?: boolean;
  /** Elementwise results over kept operands (cheapRemakes). */
  elementwise?: boolean;
  /** Layer normalizations' outputs, from their kept inputs (cheapRemakes). */
  normalized?: boolean;
  /** Tiled or expanded copies of a smaller value, and their transposes (expansionRemakes). */
  expansions?: boolean;
}

/**
 * Recomputes, in the backward pass, the forward values that are cheap to remake from values the
 * backward pass keeps anyway: each layer's attention probabilities, elementwise results such as
 * GELU's output and layer normalizations' outputs (see the file's comment). `shapeOf` gives a value's shape where known. Returns
 * how many nodes were cloned; nothing changes where no value qualifies.
 */
export function recomputeCheapValues(graph: Graph, backwardStart: number, fresh: (hint: string) => string, shapeOf: (v: string) => Dim[] | undefined,
  which: CheapRecompute = {}): RecomputeStats {
  const facts = forwardFacts(graph, backwardStart);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const recomputed = new Set([
    ...(which.attention !== false ? attentionChains(facts, outputs, shapeOf) : []),
    ...cheapRemakes(facts, outputs, shapeOf, { elementwise: which.elementwise !== false, normalized: which.normalized !== false }),
    ...(which.expansions !== false ? expansionRemakes(facts, outputs) : []),
  ]);
  if (recomputed.size === 0) return { cloned: 0 };
  return rematerialize(graph, backwardStart, fresh, (v) => recomputed.has(v), throughBackwardTransposes(graph, backwardStart, fresh));
}

type ForwardFacts = ReturnType<typeof forwardFacts>;

/**
 * The values of each softmax output's chain that the backward pass reads, when the chain starts
 * from values it keeps anyway (the scores' operands) and operands smaller than the output by
 * broadcasting (the attention mask).
 */
function attentionChains({ producer, readByBackward }: ForwardFacts, outputs: Set<string>, shapeOf: (v: string) => Dim[] | undefined): Set<string> {
  const recomputed = new Set<string>();
  for (const v of readByBackward) {
    const n = producer.get(v);
    if (!n || !isSoftmax(n) || outputs.has(v)) continue;
    const target = shapeOf(v);
    if (!target) continue;
    // The chain's values, back to leaves that stay alive anyway or are broadcast operands.
    const chain = new Set<string>();
    let nodes = 0;
    const walk = (value: string, root: boolean, reader?: Node): boolean => {
      const p = producer.get(value);
      if (!p) return true; // a graph input or an initializer
      if (!root && readByBackward.has(value)) return true;
      if (reader && BROADCASTING.has(reader.op) && isBroadcastOperand(shapeOf(value), target)) return true;
      if (chain.has(value)) return true;
      if (!CHAIN_OPS.has(p.op) || (p.domain !== '' && !(p.domain === COMPOSITE_DOMAIN && p.op === 'NanSafeSoftmax'))) return false;
      if (outputs.has(value) || ++nodes > MAX_CHAIN) return false;
      // A product of two kept activations (q·kᵀ), never one with a parameter: that would redo a projection.
      if (p.op === 'MatMul' && !p.inputs.every((i) => readByBackward.has(i))) return false;
      p.outputs.forEach((o) => o && chain.add(o));
      return p.inputs.every((i) => !i || walk(i, false, p));
    };
    if (walk(v, true)) for (const c of chain) recomputed.add(c);
  }
  return recomputed;
}

/** Elementwise operators remade in the backward pass: one pass over the output each. */
const ELEMENTWISE = new Set(['Gelu', 'Relu', 'Sigmoid', 'Tanh', 'Erf', 'Neg', 'Mul', 'Add', 'Sub', 'Div', 'Pow', 'Cast']);
/** Operators that only give their first operand another shape (an alias in onnxruntime). */
const VIEWS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);
/** Operators one remade value may chain through, views included (RMSNorm's scaling and casts: 3). */
const MAX_REMAKE = 4;

/**
 * Forward values the backward pass reads that a short chain of cheap operators computes from
 * values it keeps anyway, or from inputs, initializers and operands smaller by broadcasting (which
 * cost nothing to keep): GELU(h) beside h, SwiGLU's silu(g)·u beside silu(g) and u, RMSNorm's
 * cast(x·rsqrt) beside x, and — where `normalized` — LayerNorm(x) beside x (its own gradient
 * keeps x). Views of such values are remade with them; a view of a kept value is not (it aliases
 * it, so nothing would be freed). Every value of a chain is returned.
 */
function cheapRemakes({ producer, readByBackward }: ForwardFacts, outputs: Set<string>, shapeOf: (v: string) => Dim[] | undefined,
  which: { elementwise: boolean; normalized: boolean }): Set<string> {
  const recomputed = new Set<string>();
  const remade = (op: string) => (which.elementwise && ELEMENTWISE.has(op)) || (which.normalized && op === 'LayerNormalization') || VIEWS.has(op);
  // The values that remake v, v first, or undefined where it is not remade.
  const chain = (v: string, length: number): string[] | undefined => {
    const n = producer.get(v);
    if (!n || n.domain !== '' || !remade(n.op) || v !== n.outputs[0] || outputs.has(v) || length > MAX_REMAKE) return undefined;
    const target = shapeOf(v);
    const cheap = (i: string) => !i || !producer.has(i) || readByBackward.has(i) || (!!target && isBroadcastOperand(shapeOf(i), target));
    const values = [v];
    for (const [k, i] of n.inputs.entries()) {
      if (cheap(i)) {
        if (k === 0 && VIEWS.has(n.op)) return undefined;
        continue;
      }
      const below = chain(i, length + 1);
      if (!below) return undefined;
      values.push(...below);
    }
    // A chain of views alone computes nothing.
    return values.some((c) => !VIEWS.has(producer.get(c)!.op)) ? values : undefined;
  };
  for (const v of readByBackward) chain(v, 1)?.forEach((c) => recomputed.add(c));
  return recomputed;
}

/** Operators that make a larger copy of their first operand. */
const EXPANDING = new Set(['Tile', 'Expand']);

/**
 * Forward values the backward pass reads that are a Tile or Expand of a smaller value, possibly
 * transposed or viewed after it: DeBERTa tiles each layer's relative-position tables over the
 * batch ([heads, 2·buckets, head_dim] to [batch·heads, ...], 24 MB each at base size) and the
 * gradient of q reads the tiled copy. Remade from the smaller value (kept instead) by one copy
 * just before its backward use. Every value of a chain is returned.
 */
function expansionRemakes({ producer, readByBackward }: ForwardFacts, outputs: Set<string>): Set<string> {
  const recomputed = new Set<string>();
  for (const v of readByBackward) {
    const values: string[] = [];
    let x = v;
    let expanded = false;
    for (let k = 0; k < MAX_REMAKE && !expanded; k++) {
      const n = producer.get(x);
      if (!n || n.domain !== '' || x !== n.outputs[0] || outputs.has(x) || !(EXPANDING.has(n.op) || n.op === 'Transpose' || VIEWS.has(n.op))) break;
      values.push(x);
      expanded = EXPANDING.has(n.op);
      x = n.inputs[0];
    }
    if (expanded) values.forEach((c) => recomputed.add(c));
  }
  return recomputed;
}

/**
 * The recomputed product reads each kept operand through the Transpose that the product's own
 * gradient reads it through (dk = qᵀ·ds reads Transpose(q)), transposed back. onnxruntime's
 * transpose optimizer moves the forward pass's head transposes past the scaling and composes
 * the gradient's Transpose with them, so the backward pass reads q in the projection's layout
 * [batch, sequence, heads, head_dim]; a product reading q as the forward pass left it would keep
 * the [batch, heads, sequence, head_dim] copy alive as well — as much memory as the probabilities
 * saved at sequence 128 (measured, docs/PERFORMANCE.md). Read this way, both layouts compose to
 * the one the backward pass keeps.
 */
function throughBackwardTransposes(graph: Graph, backwardStart: number, fresh: (hint: string) => string): OperandReader {
  const swapped = new Map<string, Node>();
  for (const n of graph.nodes.slice(backwardStart)) {
    const perm = n.op === 'Transpose' && n.domain === '' ? n.attrs.get('perm') : undefined;
    if (perm?.kind === 'ints' && swapsLastTwo(perm.value)) swapped.set(n.inputs[0], n);
  }
  return (reader, value, emit) => {
    const t = reader.op === 'MatMul' ? swapped.get(value) : undefined;
    if (!t) return value;
    const back = fresh(`${value}_reread`);
    emit({ name: fresh(`${t.name}_reread`), op: 'Transpose', domain: '', inputs: [t.outputs[0]], outputs: [back], attrs: new Map(t.attrs) });
    return back;
  };
}

function swapsLastTwo(perm: number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm[r - 2] === r - 1 && perm[r - 1] === r - 2 && perm.slice(0, r - 2).every((p, i) => p === i);
}

/** How a clone reads a value that is not recomputed (`emit` adds nodes before the clone). */
type OperandReader = (reader: Node, value: string, emit: (n: Node) => void) => string;

function isSoftmax(n: Node): boolean {
  return (n.op === 'Softmax' && n.domain === '') || (n.op === 'NanSafeSoftmax' && n.domain === COMPOSITE_DOMAIN);
}

/**
 * Whether an operand of an elementwise operator in the chain (which broadcasts it to the chain's
 * shape, so it is never larger than the target) is smaller than the target: of lower rank, or 1
 * in an axis where the target has a fixed size above 1. A mask of [batch, 1, sequence, sequence]
 * beside scores of [batch, heads, sequence, sequence] is; exporters' masks often carry dimensions
 * shape inference cannot name, which this does not need.
 */
function isBroadcastOperand(shape: Dim[] | undefined, target: Dim[]): boolean {
  if (!shape || shape.length > target.length) return false;
  const offset = target.length - shape.length;
  return offset > 0 || shape.some((d, k) => d === 1 && typeof target[offset + k] === 'number' && (target[offset + k] as number) > 1);
}

function forwardFacts(graph: Graph, backwardStart: number) {
  const producer = new Map<string, Node>();
  for (const n of graph.nodes.slice(0, backwardStart)) for (const o of n.outputs) if (o) producer.set(o, n);
  const readByBackward = new Set<string>();
  for (const n of graph.nodes.slice(backwardStart)) for (const i of n.inputs) if (i && producer.has(i)) readByBackward.add(i);
  return { producer, readByBackward };
}

/**
 * Clones the producers of each value `recompute` selects (recursively, through the values it
 * reads that are selected too) into the backward pass, just before the first backward node that
 * reads it, and points the backward nodes at the clones.
 */
function rematerialize(graph: Graph, backwardStart: number, fresh: (hint: string) => string, recompute: (v: string) => boolean, operand?: OperandReader): RecomputeStats {
  const forward = graph.nodes.slice(0, backwardStart);
  const backward = graph.nodes.slice(backwardStart);
  const { producer } = forwardFacts(graph, backwardStart);
  const cloneOf = new Map<string, string>();
  const emitted: Node[] = [];
  let cloned = 0;
  const clone = (v: string): string => {
    if (!recompute(v)) return v;
    const done = cloneOf.get(v);
    if (done) return done;
    const n = producer.get(v)!;
    const emit = (e: Node) => emitted.push(e);
    const inputs = n.inputs.map((i) => (!i ? i : recompute(i) || !operand ? clone(i) : operand(n, i, emit)));
    const outs = n.outputs.map((o) => (o ? fresh(`${o}_recomputed`) : o));
    n.outputs.forEach((o, k) => o && cloneOf.set(o, outs[k]));
    emitted.push({ ...n, name: fresh(`${n.name}_recompute`), inputs, outputs: outs, attrs: new Map(n.attrs) });
    cloned++;
    return cloneOf.get(v)!;
  };
  const rewritten: Node[] = [];
  for (const n of backward) {
    n.inputs = n.inputs.map((i) => (i && producer.has(i) ? clone(i) : i));
    rewritten.push(...emitted.splice(0), n);
  }
  graph.nodes = [...forward, ...rewritten];
  return { cloned };
}
