// Compiles the train-step graphs: forward (training form) + loss head + backward + the global
// gradient norm and its clipping coefficient, all standard ONNX ops, run as one onnxruntime
// session that writes each parameter's gradient into a buffer the runner keeps. The optimizer
// update is a program of its own (optimizerStep.ts), run after it over parameter chunks.
// Gradient accumulation uses two more variants: "accumulate" adds a micro-batch's scaled
// gradient to running sums; "final" adds the last micro-batch's and outputs the window's total.

import { GraphBuilder } from '../onnx/builder';
import { Graph, ValueInfo, sortTopologically } from '../onnx/graph';
import { DataType, fromNumbers } from '../onnx/tensor';
import { buildBackward } from '../autodiff/backward';
import { LabelledTokens, LossHeadOptions, addLossHead, selectLabelledTokens, targetInputs } from './lossHeads';
import { toTrainingForm } from './lowering';
import { addGlobalNormClip } from './optimizers';
import { PreparedModel } from './prepare';
import { Precision, halfType, toHalfPrecision } from './precision';
import { InPlacePair, inPlacePairs, writeOutputsDirectly } from './inPlace';
import { recomputeActivations, recomputeCheapValues } from './recompute';
import { insertPaddingRows } from './paddingRows';
import { fuseGelu } from './fuseGelu';
import { denseTiedGradients } from './tiedGradients';
import { formNanSafeSoftmax } from './nanSafeSoftmax';
import { expandComposites } from '../autodiff/composites';
import { formSmallConvs } from './smallConv';
import { mergeCommonValues } from './commonValues';
import { computeSelectedRowsOnly } from './selectedRows';
import { computeSelectedTokensOnly } from './selectedTokens';

export type TrainStepMode = 'step' | 'accumulate' | 'final';

/** Names of the trainer's own graph inputs and outputs. */
export const IO = {
  labels: 'labels',
  loss: 'trainer/loss',
  gradNorm: 'trainer/grad_norm',
  /** min(1, max_norm / (norm + 1e-6)), times 1/loss scale with fp16: what every gradient is scaled by. */
  gradCoef: 'trainer/grad_coef',
  /** A parameter's gradient (the window's total with accumulation), before clipping. */
  grad: (param: string) => `trainer/grad/${param}`,
  maxGradNorm: 'trainer/max_grad_norm',
  randomKey: 'trainer/random_key',
  gradScale: 'trainer/grad_scale',
  hyper: (name: string) => `trainer/${name}`,
  accumulated: (param: string) => `trainer/acc/${param}`,
  accumulatedNext: (param: string) => `trainer/acc_next/${param}`,
  next: (name: string) => `trainer/next/${name}`,
  lossScale: 'trainer/loss_scale',
  slot: (slot: string, param: string) => `trainer/${slot}/${param}`,
  slotNext: (slot: string, param: string) => `trainer/${slot}_next/${param}`,
};

export interface CompiledTrainStep {
  mode: TrainStepMode;
  graph: Graph;
  /** Updated tensors whose new value may be written over the old one's buffer (inPlace.ts). */
  inPlace: InPlacePair[];
  /**
   * Forward nodes cloned into the backward pass (recompute.ts). Where there are any, the session
   * must run without onnxruntime's common-subexpression elimination, which would merge them back.
   */
  clones: number;
}

/** The graph inputs of the loss's targets, shaped after the logits output. */
export function lossTargetInputs(prepared: PreparedModel, loss: LossHeadOptions): ValueInfo[] {
  const targets = targetInputs(loss, prepared.graph.outputs.find((o) => o.name === prepared.logits)?.shape);
  const clash = targets.find((t) => prepared.graph.inputs.some((i) => i.name === t.name));
  if (clash) throw new Error(`the model has an input named "${clash.name}", which is the loss's target; rename it`);
  return targets;
}

/** Makes parameters and buffers graph inputs (they are fed every step, not baked in). */
export function liftToInputs(graph: Graph, names: string[]): void {
  for (const n of names) {
    const t = graph.initializers.get(n)!;
    graph.initializers.delete(n);
    graph.inputs.push({ name: n, type: t.type, shape: [...t.dims] });
  }
}

/** Renames the value `from` to `to` by an Identity, so an output can carry a fixed name. */
function output(b: GraphBuilder, from: string, to: string, outs: Graph['outputs']): void {
  b.add('Identity', [from], {}, { outputs: [b.reserve(to)] });
  outs.push(b.shapes.valueInfo(to));
}

/** The gradient of an embedding table with one row zeroed (nn.Embedding's padding_idx). */
function withoutRow(b: GraphBuilder, grad: string, row: number, dims: number[]): string {
  const mask = Array.from({ length: dims[0] }, (_, i) => (i === row ? 0 : 1));
  return b.mul(grad, b.constant(fromNumbers(b.type(grad), [dims[0], 1], mask), 'padding_row_mask'));
}

export interface CompileOptions {
  /** Gradient checkpointing: recompute activations in the backward pass (less memory). */
  recompute?: boolean;
  /** false: keep the attention probabilities for the backward pass instead of recomputing them (recompute.ts). */
  recomputeAttention?: boolean;
  /** false: keep elementwise results such as GELU's output instead of remaking them from their kept operands (recompute.ts). */
  recomputeElementwise?: boolean;
  /** false: keep layer normalizations' outputs instead of remaking them from their kept inputs (recompute.ts). */
  recomputeNormalized?: boolean;
  /** false: keep tiled or expanded copies of smaller values instead of remaking them from those (recompute.ts). */
  recomputeExpanded?: boolean;
  /** false: compute every row of a value the loss reads only some rows of (selectedRows.ts, selectedTokens.ts). */
  selectedRowsOnly?: boolean;
  /** false (or selectedRowsOnly false): compute padding tokens' rows too (paddingRows.ts). */
  paddingRowsOnly?: boolean;
  /** Mixed precision of the forward and backward passes (precision.ts). */
  precision?: Precision;
}

/**
 * The passes that compute only the rows the loss reads, in their order: padding tokens left out
 * (paddingRows.ts, where `paddingRows`; `labelled`: the positions a token-level loss reads),
 * then the head's constant rows (selectedRows.ts) and the rows chosen at run time
 * (selectedTokens.ts, which also moves the padding pass's selections).
 */
export function computeReadRowsOnly(graph: Graph, read: ReadonlySet<string>, paddingRows: boolean, labelled?: LabelledTokens, dataInputs?: ReadonlySet<string>): void {
  if (paddingRows) insertPaddingRows(graph, labelled, dataInputs);
  computeSelectedRowsOnly(graph, read);
  computeSelectedTokensOnly(graph, read);
}

/**
 * The model outputs a step reads whole — all of them, but the logits where a token-level loss
 * reads only its labelled rows of them — after computing only the rows those reads need (where
 * `opts` allow). Shared by the train and eval steps.
 */
export function readOutputsOnly(graph: Graph, prepared: PreparedModel, opts: Pick<CompileOptions, 'selectedRowsOnly' | 'paddingRowsOnly'>, labelled?: LabelledTokens): Set<string> {
  const read = new Set(labelled ? prepared.outputs.filter((o) => o !== prepared.logits) : [...prepared.outputs, prepared.logits]);
  // The model's own inputs: the step's graph also takes the parameters as inputs.
  const data = new Set(prepared.inputs.filter((i) => !prepared.graph.initializers.has(i.name)).map((i) => i.name));
  if (opts.selectedRowsOnly !== false) computeReadRowsOnly(graph, read, opts.paddingRowsOnly !== false, labelled, data);
  return read;
}

export function compileTrainStep(prepared: PreparedModel, loss: LossHeadOptions, mode: TrainStepMode, opts: CompileOptions = {}): CompiledTrainStep {
  const graph = prepared.graph.clone();
  graph.name = `train_${mode}`;
  const params = prepared.params.map((p) => p.name);
  liftToInputs(graph, [...params, ...prepared.buffers]);
  graph.outputs = [];
  graph.inputs.push(...lossTargetInputs(prepared, loss));
  graph.inputs.push({ name: IO.randomKey, type: DataType.UINT32, shape: [] });
  // A token-level loss reads the labelled rows of the logits alone (lossHeads.ts).
  const labelled = opts.selectedRowsOnly !== false ? selectLabelledTokens(new GraphBuilder(graph), prepared.logits, loss.task) : undefined;
  // Before mixed precision's conversion, which turns the padding pairs' float zeros half with the rows.
  const read = readOutputsOnly(graph, prepared, opts, labelled);
  mergeCommonValues(graph, read);
  const half = halfType(opts.precision ?? 'fp32');
  if (half) toHalfPrecision(graph, half, new Set(prepared.buffers));
  const b = new GraphBuilder(graph);
  fuseGelu(graph, (name) => b.shapes.get(name)?.type);
  formNanSafeSoftmax(graph, (name) => b.shapes.get(name));
  formSmallConvs(graph, (name) => b.shapes.get(name));
  // Losses, gradients of parameters and optimizer arithmetic stay float32 in mixed precision.
  const scalarType = half ? DataType.FLOAT : b.type(labelled?.logits ?? prepared.logits);
  const scalarInput = (name: string) => {
    graph.inputs.push({ name, type: scalarType, shape: [] });
    b.shapes.set(name, { type: scalarType, shape: [] });
    return name;
  };

  const runningStats = toTrainingForm(b, IO.randomKey);
  // A token-level loss reads its selected rows of the logits instead (the logits may be gone).
  const outputs = labelled ? [] : prepared.outputs.map((o) => (half ? b.cast(o, DataType.FLOAT) : o));
  const lossValue = addLossHead(b, outputs, loss, labelled && { ...labelled, logits: half ? b.cast(labelled.logits, DataType.FLOAT) : labelled.logits });
  // fp16 scales the loss (GradScaler): gradients come out scaled and are unscaled before clipping.
  const lossScale = half === DataType.FLOAT16 ? scalarInput(IO.lossScale) : undefined;
  const outs: Graph['outputs'] = [];
  output(b, lossValue, IO.loss, outs);
  for (const u of runningStats) output(b, u.next, IO.next(u.buffer), outs);
  const backwardStart = graph.nodes.length;
  const { grads } = buildBackward(b, lossValue, params, lossScale);
  denseTiedGradients(b, backwardStart);

  // Gradients of parameters the loss does not reach are zero.
  const gradOf = (p: string) => {
    const g = grads.get(p) ?? b.zerosLike(p);
    return prepared.paddingRow?.param === p ? withoutRow(b, g, prepared.paddingRow.row, prepared.params.find((q) => q.name === p)!.dims) : g;
  };

  if (mode === 'accumulate') {
    const scale = scalarInput(IO.gradScale);
    for (const p of params) {
      const acc = IO.accumulated(p);
      const t = prepared.graph.initializers.get(p)!;
      graph.inputs.push({ name: acc, type: t.type, shape: [...t.dims] });
      b.shapes.set(acc, { type: t.type, shape: [...t.dims] });
      output(b, b.add2(acc, b.mul(gradOf(p), scale)), IO.accumulatedNext(p), outs);
    }
    graph.outputs = outs;
    const clones = recomputeValues(b, backwardStart, opts);
    expandComposites(b);
    const candidates = [...params.map((p) => ({ input: IO.accumulated(p), output: IO.accumulatedNext(p) })), ...bufferPairs(prepared)];
    return { mode, graph, inPlace: safePairs(graph, candidates), clones };
  }

  let total = params.map(gradOf);
  // Ordered by where the backward pass makes each gradient, before "final" adds the window's sums
  // (those Adds are all made after the backward pass, in parameter order).
  const order = latestFirst(graph, total);
  if (mode === 'final') {
    const scale = scalarInput(IO.gradScale);
    total = params.map((p, i) => {
      const acc = IO.accumulated(p);
      const t = prepared.graph.initializers.get(p)!;
      graph.inputs.push({ name: acc, type: t.type, shape: [...t.dims] });
      b.shapes.set(acc, { type: t.type, shape: [...t.dims] });
      return b.add2(acc, b.mul(total[i], scale));
    });
  }
  const unscale = lossScale && b.op('Reciprocal', [lossScale]);
  const { coef, norm } = addGlobalNormClip(b, total, scalarInput(IO.maxGradNorm), unscale, order);
  output(b, norm, IO.gradNorm, outs);
  output(b, coef, IO.gradCoef, outs);
  for (const i of order) output(b, total[i], IO.grad(params[i]), outs);
  graph.outputs = outs;
  const clones = recomputeValues(b, backwardStart, opts);
  expandComposites(b);
  // With accumulation the window's total may be written over its running sums.
  const sums = mode === 'final' ? params.map((p) => ({ input: IO.accumulated(p), output: IO.grad(p) })) : [];
  // In "step" the gradients come back as new tensors, so they may come in their producer's shape
  // (the runner gives them the parameter's).
  const reshapable = new Set(mode === 'step' ? params.map((p) => IO.grad(p)) : []);
  return { mode, graph, inPlace: safePairs(graph, [...sums, ...bufferPairs(prepared)], reshapable), clones };
}

/** Gradient checkpointing's recomputation where asked for, else the cheap values' (attention probabilities, elementwise results, layer norms' outputs, expanded copies). */
function recomputeValues(b: GraphBuilder, backwardStart: number, opts: CompileOptions): number {
  const fresh = (h: string) => b.fresh(h);
  if (opts.recompute) return recomputeActivations(b.graph, backwardStart, fresh).cloned;
  const which = { attention: opts.recomputeAttention !== false, elementwise: opts.recomputeElementwise !== false, normalized: opts.recomputeNormalized !== false,
    expansions: opts.recomputeExpanded !== false };
  return recomputeCheapValues(b.graph, backwardStart, fresh, (v) => b.shapes.get(v)?.shape, which).cloned;
}

/**
 * Indices of `grads`, the gradient the backward pass makes last first. The nodes that read them
 * on the way to the graph's leaves (their squares for the clipping norm) are created in that
 * order, which decides onnxruntime's schedule: its inference build orders nodes
 * by a depth-first walk back from the graph's leaves that starts at the leaf with the highest node
 * index. Walking from the last layer's gradients first, each layer's weight and bias gradients are
 * computed as soon as the backward pass reaches the layer, as PyTorch's autograd does, and the
 * activations and gradients they read are freed; in parameter order the walk put every layer's
 * bias gradients last, keeping each layer's [tokens × 3072] GELU gradient alive to the end
 * (docs/PERFORMANCE.md).
 */
function latestFirst(graph: Graph, grads: string[]): number[] {
  const position = new Map(graph.nodes.map((n, i) => [n, i]));
  const producers = graph.producers();
  const at = (g: string) => {
    let p = producers.get(g);
    // In half precision a gradient is cast to float32 where the backward pass reaches the
    // parameter's own Cast, at the graph's start: it is made where the Cast's input is.
    while (p?.op === 'Cast' && producers.has(p.inputs[0])) p = producers.get(p.inputs[0]);
    return p ? position.get(p)! : -1;
  };
  return grads.map((g, i) => ({ i, at: at(g) })).sort((a, b) => b.at - a.at).map((x) => x.i);
}

function bufferPairs(prepared: PreparedModel): InPlacePair[] {
  return prepared.buffers.map((n) => ({ input: n, output: IO.next(n) }));
}

/**
 * The candidates the compiled graph lets onnxruntime write in place (see inPlace.ts). Every
 * output, not only those, is first written by the node that computes it: onnxruntime keeps an
 * Identity whose output is a graph output, and copied each gradient through it (3.7 ms per
 * ResNet-18 step at 64×64, the 512-channel weights' gradients 0.6 ms each).
 */
function safePairs(graph: Graph, candidates: InPlacePair[], reshapable = new Set<string>()): InPlacePair[] {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const present = candidates.filter((c) => outputs.has(c.output));
  writeOutputsDirectly(graph, outputs, reshapable);
  sortTopologically(graph);
  return inPlacePairs(graph, present);
}
