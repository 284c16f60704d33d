// Leaves padding tokens out of a transformer's token-wise operators: classifiers' (encoders'
// first token, decoders' last), and in the train step those of models trained on a token-level
// loss (token classification, fill-mask, causal LM).
//
// A batch padded to one length carries rows no real token depends on: each padding position's key
// gets the attention mask's large negative score, so its softmax weight is exactly 0, and the
// classifier reads one row per sequence (BERT's, DistilBERT's, RoBERTa's first token), a
// token-level loss the positions it labels. Both PyTorch and the exported graph still run every
// projection, feed-forward block and norm over them — a quarter of the work when a quarter of the
// batch is padding.
//
// This pass keeps the attention as exported and puts a pair of operators in front of each of its
// q, k and v projections (where they enter the head-splitting Reshape, or GPT-2's Split of its
// fused projection): Gather the real rows of the flattened [batch·sequence, hidden] value, then
// ScatterND them back in place over zeros. The zeros only land on padding rows: as keys and values
// they are masked to weight 0, as queries they give rows nothing real reads. selectedTokens.ts
// then moves each Gather up through the operators that compute every row on its own, as it moves a
// decoder head's selection — through the projections, the previous layer's norms, feed-forward
// block, residual sums and output projection, to the previous attention — so that all of those run
// on the real rows only. Row 0 of every sequence counts as real, so the row the classifier reads
// is computed as exported even where it is padding; the head (or the loss) reads its rows from the
// real rows, at their places among them, so that the last layer after its attention runs for those
// rows alone.
//
// Applied only where it is exact: every softmax of the graph is an attention over [B, S, H]
// projections whose mask comes from one [B, S] graph input, only operators that compute each
// (batch, position) row on its own lie between the projections and the attention, whatever else
// the scores add to q·kᵀ reads no row but its own query's or key's (position biases, ALiBi,
// DeBERTa's relative-position terms of q and k), and the loss
// reads the hidden states through a constant row 0 of the sequence axis, at a decoder
// classifier's run-time last tokens, or (a token-level loss in the train step, or in an eval step
// that outputs no per-token logits) at the positions it labels; the positions read count as real
// rows too, and a sequence where the loss reads a padding position is computed whole (in a causal
// LM padded on the left, the last padding position predicts the first real token and sees no real
// key). Anything else (per-token logits as an output, question answering's spans, which score every
// position, models without a mask) is left unchanged.

import { GraphBuilder } from '../onnx/builder';
import { Dim, Graph, Node, attrInt, attrInts, sortTopologically } from '../onnx/graph';
import { ShapeTable } from '../onnx/shapes';
import { compareDims, normalizeAxis } from '../onnx/shapes/dims';
import { DataType, fromNumbers, isFloatType, toNumbers } from '../onnx/tensor';
import type { LabelledTokens } from './lossHeads';
import { NodeIndex } from './nodeIndex';
import { flatRowsOfPairs } from './selectedTokens';

/** The flat (batch, sequence) positions a head or loss reads (bool [B·S]), and its Gather of them. */
type ReadPositions = Pick<LabelledTokens, 'logits' | 'read'>;

/**
 * Operators that may lie between a projection's [B, S, H] output and the attention's products:
 * head split (a Reshape, or a Split of a fused q/k/v projection: GPT-2's along the last axis,
 * ModernBERT's along the [B, S, 3, heads, d] view's third), transposes, scaling, per-head norms
 * (Qwen3's and Gemma 3's RMSNorm of q and k: Pow, ReduceMean, Sqrt, Reciprocal), rotary
 * embeddings (elementwise products with per-position tables, and rotate-half's slices, negation
 * and concatenation) and grouped-query attention's repeat of k and v (Unsqueeze, Expand along the
 * new axis, Reshape), and BLOOM's Gather of q, k or v from its fused [B, S, heads, 3, d] view.
 * Each computes every (batch, position) row on its own, so zeros put on padding rows above them
 * stay on those rows (a norm's ε keeps them finite); Split, Slice, Concat, ReduceMean and Gather
 * only along axes within a row.
 */
const HEAD_PATH = new Set(['Reshape', 'Transpose', 'Mul', 'Div', 'Cast', 'Add', 'Sub', 'Neg', 'Split', 'Slice', 'Concat', 'Unsqueeze', 'Squeeze', 'Expand',
  'Pow', 'Sqrt', 'Reciprocal', 'ReduceMean', 'Gather']);
/** Of those, the ones whose other inputs are shapes, indices or axes. */
const FIRST_INPUT_DATA = new Set(['Reshape', 'Slice', 'Split', 'Unsqueeze', 'Squeeze', 'Expand', 'ReduceMean', 'Gather']);
const WITHIN_ROWS = new Set(['Split', 'Slice', 'Concat', 'ReduceMean', 'Gather']);
/** Operators between a softmax and the product with v (Hugging Face's NaN guard, DeBERTa's reshape to [B·heads, S, S]). */
const GUARD = new Set(['Where', 'IsNaN', 'Cast', 'ThresholdedRelu', 'Shrink', 'Reshape']);

/**
 * Inserts the Gather / ScatterND pairs where every condition above holds; returns how many (0:
 * unchanged). `labelled`: a token-level loss reads the logits at these positions alone
 * (lossHeads.ts selectLabelledTokens), instead of a classifier reading row 0 of the hidden states.
 * `dataInputs`: the model's own inputs, where the graph also takes its parameters as inputs.
 */
export function insertPaddingRows(graph: Graph, labelled?: ReadPositions, dataInputs?: ReadonlySet<string>): number {
  const shapes = new ShapeTable(graph).inferAll();
  const index = new NodeIndex(graph, new Set());
  const producer = index.producers;
  const shapeOf = (v: string) => shapes.get(v)?.shape;
  const softmaxes = graph.nodes.filter((n) => n.op === 'Softmax' && n.domain === '');
  if (!softmaxes.length) return 0;

  // The graph inputs a value depends on through its data (a Shape reads no data).
  const inputsUnder = (v: string): Set<string> => {
    const found = new Set<string>();
    const seen = new Set<string>();
    const walk = (x: string) => {
      if (seen.has(x)) return;
      seen.add(x);
      const p = producer.get(x);
      if (!p) {
        // Parameters are not data (some exporters list them as inputs too; the train step takes them as inputs).
        if (dataInputs ? dataInputs.has(x) : graph.inputs.some((i) => i.name === x) && !graph.initializers.has(x)) found.add(x);
        return;
      }
      if (p.op === 'Shape' || p.op === 'Size') return;
      p.inputs.forEach((i) => i && walk(i));
    };
    walk(v);
    return found;
  };

  let mask: string | undefined;
  let maskShape: readonly Dim[] | undefined;
  const entries = new Set<Node>();
  for (const s of softmaxes) {
    const rank = shapeOf(s.inputs[0])?.length;
    if (!rank || normalizeAxis(attrInt(s, 'axis', -1), rank) !== rank - 1) return 0;
    const parts = scoreParts(s.inputs[0], producer, (v) => {
      const t = graph.initializers.get(v);
      return t && t.dims.reduce((a, d) => a * d, 1) <= 16 ? toNumbers(t) : shapes.get(v)?.value as readonly unknown[] | undefined;
    });
    if (!parts) return 0;
    const scores = parts.product;
    const context = contextProduct(s.outputs[0], index);
    if (!context) return 0;
    // The [B, S] dims the head-splitting entries are found by: those of a [B, S] graph input the
    // other terms read (input_ids and the mask share them); the mask itself is told apart below.
    const grid = [...parts.masks, ...parts.terms].flatMap((t) => [...inputsUnder(t)])
      .map((x) => graph.inputs.find((i) => i.name === x)?.shape).find((d) => d?.length === 2);
    if (!grid) return 0;
    const attention: Node[] = [];
    for (const operand of [scores.inputs[0], scores.inputs[1], context.inputs[1]]) {
      const entry = headEntry(operand, producer, shapeOf, grid);
      if (!entry) return 0;
      attention.push(entry);
    }
    // The terms besides q·kᵀ that depend on this attention's q or k rows (DeBERTa's c2p and p2c)
    // are checked below; the others are the mask and position biases.
    const below = dataBelow(attention.flatMap((e) => e.outputs), index);
    // The mask: every other term (and a masked fill's condition) depends on one [B, S] graph input
    // at most, the same for every attention, and one at least does.
    const masks = new Set<string>();
    for (const t of [...parts.masks, ...parts.terms.filter((t) => !below.has(t))]) inputsUnder(t).forEach((x) => masks.add(x));
    if (masks.size !== 1) return 0;
    const m = [...masks][0];
    if (mask && m !== mask) return 0;
    mask = m;
    maskShape = graph.inputs.find((i) => i.name === m)?.shape;
    if (maskShape?.length !== 2 || maskShape.some((d, k) => compareDims(d, grid[k]) !== 'equal')) return 0;
    const value = (v: string) => shapes.get(v)?.value as readonly unknown[] | undefined;
    for (const [k, operand] of [scores.inputs[0], scores.inputs[1], context.inputs[1]].entries()) {
      if (!rowWiseBetween(attention[k], operand, index, shapeOf, value, maskShape)) return 0;
      entries.add(attention[k]);
    }
    for (const t of parts.terms.filter((t) => below.has(t))) {
      if (!rowTerm(t, attention, below, index, shapeOf, value, maskShape, inputsUnder)) return 0;
    }
  }
  if (!mask || !maskShape) return 0;
  // The loss's read: row 0 of the sequence axis of a [B, S, H] value.
  const heads = graph.nodes.filter((n) => readsFirstRow(n, shapeOf, maskShape, (v) => shapes.get(v)?.type, (v) => shapes.get(v)?.value as readonly unknown[] | undefined));
  const decoder = !labelled && !heads.length ? decoderHead(graph, producer, shapeOf, maskShape) : undefined;
  if (heads.length !== (labelled || decoder ? 0 : 1)) return 0;

  const b = new GraphBuilder(graph, shapes);
  const grid = b.op('Shape', [mask]);
  if (decoder) {
    // The head's positions are computed from shapes (b·S + last[b], S read from the scores): read
    // from the graph inputs instead, or the real rows would depend on the layers they select for.
    if (!shapesFromInputs(b, decoder.inputs[1], producer, graph)) return 0;
    labelled = readByDecoderHead(b, decoder, grid);
  }
  // Real rows: mask ≠ 0, and every sequence's first position.
  const flat = b.reshape(mask, [-1]);
  const real = b.op('Not', [b.op('Equal', [flat, b.scalar(0, shapes.get(mask)!.type)])]);
  const length = b.op('Shape', [mask], { start: 1, end: 2 });
  const total = b.op('Mul', [b.op('Shape', [mask], { start: 0, end: 1 }), length]);
  const positions = b.op('Range', [b.scalar(0, DataType.INT64), b.squeeze(total, [0]), b.scalar(1, DataType.INT64)]);
  const first = b.op('Equal', [b.op('Mod', [positions, length]), b.int64s([0])]);
  // A token-level loss's positions count as real too. Where one of them is padding, the whole
  // sequence is computed: such a row may see no real key (a causal LM's last left-padding position
  // predicts the first real token), and its attention then mixes padding keys and values, which
  // must be the exported graph's, not zeros.
  const read = (): string => {
    const padRead = b.op('And', [b.reshape(labelled!.read, grid), b.op('Not', [b.reshape(real, grid)])]);
    const whole = b.op('Greater', [b.op('ReduceMax', [b.cast(padRead, DataType.INT64), b.int64s([1])], { keepdims: 1 }), b.scalar(0, DataType.INT64)]);
    return b.op('Or', [labelled!.read, b.reshape(b.op('Expand', [whole, grid]), [-1])]);
  };
  const kept = b.op('Or', [real, labelled ? b.op('Or', [first, read()]) : first]);
  const rows = b.squeeze(b.op('NonZero', [kept]), [0]);
  const at = b.unsqueeze(rows, [1]);
  // x's own shape, [B, S, hidden], from the mask's: a head split written as Reshape(x, [0, 0,
  // heads, d]) copies its input's leading dims, so the rows go back into that shape.
  const unflat = (hidden: number) => b.add('Concat', [grid, b.int64s([hidden])], { axis: 0 })[0];
  const inPlace = (x: string, hidden: number): string => {
    const selected = b.add('Gather', [b.reshape(x, [-1, hidden]), rows], { axis: 0 })[0];
    const zeros = b.zerosLike(x, b.add('Concat', [total, b.int64s([hidden])], { axis: 0 })[0]);
    return b.reshape(b.add('ScatterND', [zeros, at, selected], {})[0], unflat(hidden));
  };
  for (const e of entries) e.inputs[0] = inPlace(e.inputs[0], shapeOf(e.inputs[0])![2] as number);
  // The head reads its rows from the real rows themselves, at their places among them (rows are
  // in order, so a row's place is the count of real rows up to it, less one): the last layer's
  // products then run for the rows the head reads once selectedTokens.ts moves this Gather up
  // behind the real rows' one, and the layer before runs on the real rows alone (its output is
  // read by both selections, which then select the same rows).
  const places = b.op('Sub', [b.op('CumSum', [b.cast(kept, DataType.INT64), b.scalar(0, DataType.INT64)]), b.scalar(1, DataType.INT64)]);
  if (labelled) {
    // The loss's (or a decoder head's) Gather of flat positions from the [B·S, C] scores.
    const reader = producer.get(labelled.logits)!;
    reader.inputs = [b.add('Gather', [reader.inputs[0], rows], { axis: 0 })[0], b.op('Gather', [places, reader.inputs[1]], { axis: 0 })];
    sortTopologically(graph);
    return entries.size + 1;
  }
  const head = heads[0];
  const hidden = shapeOf(head.inputs[0])![2] as number;
  const firstPlaces = b.op('Gather', [b.reshape(places, grid), b.scalar(0, DataType.INT64)], { axis: 1 });
  const packed = b.add('Gather', [b.reshape(head.inputs[0], [-1, hidden]), rows], { axis: 0 })[0];
  head.inputs = [packed, firstPlaces];
  head.attrs = new Map(head.attrs).set('axis', { kind: 'int', value: 0 });
  sortTopologically(graph);
  return entries.size + 1;
}

/**
 * A decoder classifier's head (GPT-2's, Llama's): each sequence's last token read from the
 * [B, S, labels] scores at run-time positions — TorchScript's Gather of flat rows b·S + last[b]
 * from the scores flattened, or dynamo's GatherND of (b, last[b]) pairs.
 */
function decoderHead(graph: Graph, producer: Map<string, Node>, shapeOf: (v: string) => readonly Dim[] | undefined, maskShape: readonly Dim[]): Node | undefined {
  const scores = (x: string) => {
    const s = shapeOf(x);
    return s?.length === 3 && typeof s[2] === 'number' && compareDims(s[0], maskShape[0]) === 'equal' && compareDims(s[1], maskShape[1]) === 'equal';
  };
  const found = graph.nodes.filter((n) => {
    if (n.domain !== '') return false;
    if (n.op === 'GatherND') return attrInt(n, 'batch_dims', 0) === 0 && scores(n.inputs[0]) && shapeOf(n.inputs[1])?.length === 2 && shapeOf(n.inputs[1])![1] === 2;
    if (n.op !== 'Gather' || attrInt(n, 'axis', 0) !== 0 || graph.initializers.has(n.inputs[1]) || shapeOf(n.inputs[1])?.length !== 1) return false;
    const flat = producer.get(n.inputs[0]);
    return !!flat && flat.op === 'Flatten' && attrInt(flat, 'axis', 1) === 2 && scores(flat.inputs[0]);
  });
  return found.length === 1 ? found[0] : undefined;
}

/**
 * Rewrites every Shape read that `v` depends on (through data and shapes alike) to the same dims
 * assembled from the graph inputs (GraphBuilder.shapeOf); false where one cannot be.
 */
function shapesFromInputs(b: GraphBuilder, v: string, producer: Map<string, Node>, graph: Graph): boolean {
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const inputDims = new Set(graph.inputs.flatMap((i) => i.shape ?? []));
  const reads: Node[] = [];
  const seen = new Set<Node>();
  const stack = [v];
  while (stack.length) {
    const n = producer.get(stack.pop()!);
    if (!n || seen.has(n)) continue;
    seen.add(n);
    // Positions computed from the layers' data (not only their shapes) cannot be known first.
    if (n.op === 'Softmax') return false;
    if (n.op !== 'Shape' || inputs.has(n.inputs[0])) stack.push(...n.inputs.filter((i) => i));
    else reads.push(n);
  }
  // Checked before anything changes: every dim a number or one of the inputs' named dims.
  if (!reads.every((n) => b.shape(n.inputs[0])?.every((d) => typeof d === 'number' || inputDims.has(d)))) return false;
  for (const n of reads) {
    const assembled = b.shapeOf(n.inputs[0]);
    const [start, end] = [attrInt(n, 'start', 0), n.attrs.has('end') ? attrInt(n, 'end', 0) : undefined];
    n.op = start === 0 && end === undefined ? 'Identity' : 'Slice';
    n.inputs = n.op === 'Identity' ? [assembled] : [assembled, b.int64s([start]), b.int64s([end ?? Number.MAX_SAFE_INTEGER])];
    n.attrs = new Map();
  }
  return true;
}

/**
 * The head's read positions as flat rows over (batch, sequence): a GatherND of pairs becomes the
 * Gather of flat rows from the scores flattened (negative numbers counted from the end, as GatherND
 * counts them), and the positions it reads are marked.
 */
function readByDecoderHead(b: GraphBuilder, head: Node, grid: string): ReadPositions {
  if (head.op === 'GatherND') {
    const [x, pairs] = head.inputs;
    head.op = 'Gather';
    head.inputs = [b.op('Flatten', [x], { axis: 2 }), flatRowsOfPairs(b, pairs, grid)];
    head.attrs = new Map([['axis', { kind: 'int', value: 0 }]]);
  }
  // Zeros over the B·S positions, ones where the head reads.
  const filled = (shape: string, value: number) => b.op('ConstantOfShape', [shape], { value: fromNumbers(DataType.INT64, [1], [value]) });
  const positions = b.op('ReduceProd', [grid], { keepdims: 1 });
  const read = b.op('ScatterElements', [filled(positions, 0), head.inputs[1], filled(b.op('Shape', [head.inputs[1]]), 1)], { axis: 0 });
  return { logits: head.outputs[0], read: b.op('Greater', [read, b.scalar(0, DataType.INT64)]) };
}

/** An attention's scores before the softmax, taken apart. */
interface ScoreParts {
  /** The q·kᵀ product. */
  product: Node;
  /** Conditions of a masked fill (Where(condition, constant, scores)). */
  masks: string[];
  /** The other terms added to the product: the additive mask, position biases, DeBERTa's c2p and p2c. */
  terms: string[];
}

/**
 * Through views (Reshape, Cast), an optional masked fill Where(condition, constant, x) (DeBERTa,
 * BLOOM), then a sum of terms of which exactly one is a product (possibly scaled) whose operands
 * are q and kᵀ.
 */
function scoreParts(v: string, producer: Map<string, Node>, value: (v: string) => readonly unknown[] | undefined): ScoreParts | undefined {
  const view = (x: string): string => {
    for (let p = producer.get(x), k = 0; p && k < 4 && p.domain === '' && (p.op === 'Reshape' || p.op === 'Cast'); p = producer.get(x), k++) x = p.inputs[0];
    return x;
  };
  let x = view(v);
  const masks: string[] = [];
  const fill = producer.get(x);
  // A fill that gives the masked scores a softmax weight of 0: a large negative constant.
  const filler = fill?.op === 'Where' ? value(fill.inputs[1]) : undefined;
  if (fill?.domain === '' && filler?.length && filler.every((f) => Number(f) <= -1e4)) {
    masks.push(fill.inputs[0]);
    x = view(fill.inputs[2]);
  }
  const terms: string[] = [];
  const sum = (y: string, depth: number) => {
    const p = producer.get(view(y));
    if (p?.op === 'Add' && p.domain === '' && depth < 6) p.inputs.forEach((i) => sum(i, depth + 1));
    else terms.push(view(y));
  };
  sum(x, 0);
  const products = terms.filter((t) => productOf(t, producer));
  if (products.length !== 1) return undefined;
  return { product: productOf(products[0], producer)!, masks, terms: terms.filter((t) => t !== products[0]) };
}

/** The values whose data depends on these (a Shape reads none), up to 2000 of them. */
function dataBelow(from: readonly string[], index: NodeIndex): Set<string> {
  const below = new Set<string>(from);
  const queue = [...from];
  for (let k = 0; k < queue.length && k < 2000; k++) {
    for (const r of index.readers(queue[k])) {
      if (r.op === 'Shape' || r.op === 'Size') continue;
      for (const o of r.outputs) {
        if (!o || below.has(o)) continue;
        below.add(o);
        queue.push(o);
      }
    }
  }
  return below;
}

/**
 * Whether a term added to an attention's scores reads the q or k rows only as DeBERTa's c2p and
 * p2c do, so that its (query i, key j) element depends on row i or row j alone: a product of
 * q (or k) rows — row-wise from this attention's head split, the contracted axis a static one —
 * with a value no graph input's data reaches (position embeddings), gathered along the last axis
 * by indices the rows do not reach, transposed over the last two axes, scaled. Real rows then
 * read real rows only, and padding keys are masked whatever their terms hold.
 */
function rowTerm(term: string, attention: Node[], below: Set<string>, index: NodeIndex, shapeOf: (v: string) => readonly Dim[] | undefined,
  value: (v: string) => readonly unknown[] | undefined, maskShape: readonly Dim[], inputsUnder: (v: string) => Set<string>): boolean {
  const seen = new Set<string>();
  const stack = [term];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = index.producers.get(v);
    if (!p || p.domain !== '' || seen.size > 40) return false;
    const data = p.inputs.filter((i) => i && below.has(i));
    switch (p.op) {
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Neg': case 'Cast':
        // The other operands are constants or position tables: no graph input's data.
        if (p.inputs.some((i) => i && !below.has(i) && inputsUnder(i).size > 0)) return false;
        stack.push(...data);
        break;
      case 'Transpose': {
        const perm = attrInts(p, 'perm');
        const r = perm?.length ?? 0;
        if (!perm || r < 2 || perm.slice(0, r - 2).some((a, k) => a !== k) || new Set(perm.slice(r - 2)).size !== 2 || perm.slice(r - 2).some((a) => a < r - 2)) return false;
        stack.push(...data);
        break;
      }
      case 'GatherElements': {
        const rank = shapeOf(p.inputs[0])?.length;
        if (!rank || normalizeAxis(attrInt(p, 'axis', 0), rank) !== rank - 1 || below.has(p.inputs[1])) return false;
        stack.push(p.inputs[0]);
        break;
      }
      case 'MatMul': {
        const [rows, table] = p.inputs;
        const x = shapeOf(rows);
        // A static contracted axis is not the sequence axis only where the sequence axis is symbolic.
        if (!below.has(rows) || below.has(table) || inputsUnder(table).size > 0 || typeof x?.[x.length - 1] !== 'number' || typeof maskShape[1] === 'number') return false;
        if (!attention.some((e) => rowWiseBetween(e, rows, index, shapeOf, value, maskShape))) return false;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

/** The MatMul whose output v is, possibly scaled (Mul / Div) after it. */
function productOf(v: string, producer: Map<string, Node>): Node | undefined {
  for (let p = producer.get(v), k = 0; p && k < 3; p = producer.get(p.inputs[0]), k++) {
    if (p.op === 'MatMul') return p;
    if (p.op !== 'Mul' && p.op !== 'Div') return undefined;
  }
  return undefined;
}

/** The product of the probabilities with v: a MatMul reading the softmax (through its NaN guard) as its left operand. */
function contextProduct(probs: string, index: NodeIndex): Node | undefined {
  const queue = [probs];
  for (let k = 0; k < queue.length && k < 8; k++) {
    for (const r of index.readers(queue[k])) {
      if (r.op === 'MatMul' && r.inputs[0] === queue[k]) return r;
      if (GUARD.has(r.op)) queue.push(r.outputs[0]);
    }
  }
  return undefined;
}

/** The head-splitting Reshape or Split whose input is a [B, S, H] projection (B, S the mask's dims) above an attention operand. */
function headEntry(v: string, producer: Map<string, Node>, shapeOf: (v: string) => readonly Dim[] | undefined, maskShape: readonly Dim[]): Node | undefined {
  for (let p = producer.get(v), k = 0; p && k < 24; p = producer.get(p.inputs.find((i) => (shapeOf(i)?.length ?? 0) >= 3) ?? p.inputs[0]), k++) {
    if (!HEAD_PATH.has(p.op) || p.domain !== '') return undefined;
    const x = shapeOf(p.inputs[0]);
    if (p.op === 'Reshape' && isRows(x)) {
      // GPT-2's q, k and v are one projection split in three along the last axis: one pair in
      // front of the Split lets the projection and all before it run on the real rows.
      const split = producer.get(p.inputs[0]);
      return split?.op === 'Split' && split.domain === '' && isRows(shapeOf(split.inputs[0])) && normalizeAxis(attrInt(split, 'axis', 0), 3) === 2 ? split : p;
    }
  }
  return undefined;

  /** A [B, S, H] value: B and S the mask's dims, H known. */
  function isRows(x: readonly Dim[] | undefined): boolean {
    return x?.length === 3 && typeof x[2] === 'number' && compareDims(x[0], maskShape[0]) === 'equal' && compareDims(x[1], maskShape[1]) === 'equal';
  }
}

/**
 * Whether every operator on a path from the entry to the attention operand `v` is one of
 * HEAD_PATH's, with Split, Slice, Concat and ReduceMean along axes within a row only (or a Concat
 * of one input), so that each (batch, position) row of `v` depends on the same row of the entry's
 * input alone.
 */
function rowWiseBetween(entry: Node, v: string, index: NodeIndex, shapeOf: (v: string) => readonly Dim[] | undefined, value: (v: string) => readonly unknown[] | undefined, maskShape: readonly Dim[]): boolean {
  const below = dataBelow(entry.outputs, index);
  if (!below.has(v)) return false;
  // Every producer on a path back from v to the entry, through the operands that carry data
  // (FIRST_INPUT_DATA's other inputs are shapes, indices and axes).
  const seen = new Set<Node>();
  const back = [v];
  while (back.length) {
    const p = index.producers.get(back.pop()!);
    if (!p || p === entry || seen.has(p) || !p.outputs.some((o) => below.has(o))) continue;
    seen.add(p);
    if (seen.size > 60 || !HEAD_PATH.has(p.op) || p.domain !== '') return false;
    if (WITHIN_ROWS.has(p.op) && !(p.op === 'Concat' && p.inputs.length === 1) && !withinRows(p, shapeOf, value, maskShape)) return false;
    const data = FIRST_INPUT_DATA.has(p.op) ? p.inputs.slice(0, 1) : p.inputs;
    back.push(...data.filter((i) => i && below.has(i)));
  }
  return true;
}

/**
 * A Split, Slice, Concat or ReduceMean along axes within a (batch, position) row: its input's last
 * axis, or (where the input is still [B, S, ...], B and S the mask's run-time dims) any axis after
 * the first two — ModernBERT splits its fused projection viewed as [B, S, 3, heads, d] along axis 2.
 */
function withinRows(p: Node, shapeOf: (v: string) => readonly Dim[] | undefined, value: (v: string) => readonly unknown[] | undefined, maskShape: readonly Dim[]): boolean {
  const shape = shapeOf(p.inputs[0]);
  const rank = shape?.length;
  if (!shape || !rank) return false;
  let axes: number[] | undefined;
  if (p.op === 'Split' || p.op === 'Concat' || p.op === 'Gather') axes = [attrInt(p, 'axis', 0)];
  else {
    // Slice's and (opset 18) ReduceMean's axes are an input, ReduceMean's before that an attribute.
    const given = p.op === 'Slice' ? p.inputs[3] : p.inputs[1];
    const attr = p.attrs.get('axes');
    axes = given ? value(given)?.map(Number) : attr?.kind === 'ints' ? attr.value.map(Number) : undefined;
  }
  if (!axes?.length) return false;
  const leadingRows = typeof maskShape[0] !== 'number' && typeof maskShape[1] !== 'number' && compareDims(shape[0], maskShape[0]) === 'equal' && compareDims(shape[1], maskShape[1]) === 'equal';
  return axes.every((a) => {
    const axis = normalizeAxis(a, rank);
    return axis === rank - 1 || (leadingRows && axis >= 2);
  });
}

/** A Gather of constant index 0 along axis 1 of a float [B, S, H] value. */
function readsFirstRow(n: Node, shapeOf: (v: string) => readonly Dim[] | undefined, maskShape: readonly Dim[], type: (v: string) => number | undefined, value: (v: string) => readonly unknown[] | undefined): boolean {
  const x = shapeOf(n.inputs[0]);
  if (!x || x.length !== 3 || typeof x[2] !== 'number' || compareDims(x[0], maskShape[0]) !== 'equal' || compareDims(x[1], maskShape[1]) !== 'equal') return false;
  if (n.op !== 'Gather' || n.domain !== '' || attrInt(n, 'axis', 0) !== 1 || !isFloatType(type(n.inputs[0]) ?? 0)) return false;
  const index = value(n.inputs[1]);
  return !!index && index.length === 1 && Number(index[0]) === 0;
}
