// Loss heads as Hugging Face's model classes compute them: sequence classification by
// problem_type (cross-entropy with optional class weights and label smoothing, BCE-with-logits,
// MSE), token classification and masked LM (cross-entropy over the tokens not labelled -100),
// causal LM (labels shifted left inside the loss) and extractive question answering.

import { GraphBuilder } from '../onnx/builder';
import { Dim, ValueInfo } from '../onnx/graph';
import { DataType, fromNumbers } from '../onnx/tensor';
import { IGNORE_INDEX, Task, tokenTargetInputs } from './tasks';

export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

export interface LossHeadOptions {
  /** Default: text-classification (the loss then follows problemType). */
  task?: Task;
  problemType: ProblemType;
  numLabels: number;
  classWeights?: number[];
  labelSmoothing?: number;
}

/** The element type labels are fed in. */
export function labelType(problem: ProblemType): DataType {
  return problem === 'single_label_classification' ? DataType.INT64 : DataType.FLOAT;
}

/** The shape labels are fed in: one id per sample (and position) for single-label, else logits-shaped. */
export function labelShape(problem: ProblemType, logits: Dim[], numLabels: number): Dim[] {
  if (problem === 'single_label_classification') return logits.slice(0, -1);
  if (problem === 'regression' && numLabels === 1) return logits.slice(0, -1);
  return logits;
}

/** The graph inputs the loss head reads its targets from, shaped after the first loss output. */
export function targetInputs(opts: LossHeadOptions, logits: readonly Dim[] | undefined): ValueInfo[] {
  const task = opts.task ?? 'text-classification';
  if (task !== 'text-classification') return tokenTargetInputs(task, logits);
  return [{ name: 'labels', type: labelType(opts.problemType), shape: logits && labelShape(opts.problemType, [...logits], opts.numLabels) }];
}

/**
 * Appends the task's loss of the model outputs `outputs` (question answering: start and end
 * logits; else the logits) against the target inputs of targetInputs(); returns the scalar loss.
 */
export function addLossHead(b: GraphBuilder, outputs: string[], opts: LossHeadOptions, labelled?: LabelledTokens): string {
  if (labelled) return tokenCrossEntropy(b, labelled.logits, labelled.labels);
  const logits = outputs[0];
  switch (opts.task ?? 'text-classification') {
    case 'text-classification':
      return classificationLoss(b, logits, 'labels', opts);
    case 'token-classification':
    case 'fill-mask':
      return tokenCrossEntropy(b, logits, 'labels');
    case 'text-generation':
      return tokenCrossEntropy(b, logits, shiftLeft(b, 'labels'));
    case 'question-answering':
      return spanLoss(b, outputs[0], outputs[1]);
  }
}

function classificationLoss(b: GraphBuilder, logits: string, labels: string, opts: LossHeadOptions): string {
  switch (opts.problemType) {
    case 'single_label_classification':
      return crossEntropy(b, logits, labels, opts);
    case 'multi_label_classification':
      return bceWithLogits(b, logits, b.reshapeLike(b.cast(labels, b.type(logits)), logits));
    case 'regression':
      return mse(b, logits, labels);
  }
}

function crossEntropy(b: GraphBuilder, logits: string, labels: string, opts: LossHeadOptions): string {
  // Logits of any rank are flattened to [-1, num_labels], labels to [-1], as HF's view() does.
  const flat = b.rank(logits) === 2 ? logits : b.reshape(logits, [-1, opts.numLabels]);
  const target = b.rank(labels) === 1 ? labels : b.reshape(labels, [-1]);
  const inputs = [flat, target];
  if (opts.classWeights) inputs.push(b.constant(fromNumbers(b.type(logits), [opts.classWeights.length], opts.classWeights), 'class_weights'));
  const [nll, logProb] = b.add('SoftmaxCrossEntropyLoss', inputs, { reduction: 'mean', ignore_index: -100 }, { outputs: 2 });
  const eps = opts.labelSmoothing ?? 0;
  if (!eps) return nll;
  // HF LabelSmoother: (1 − ε)·NLL + ε·mean over non-ignored targets of (1/C)·Σ_c −log p_c.
  const valid = b.cast(b.op('Not', [b.op('Equal', [target, b.scalar(-100, DataType.INT64)])]), b.type(logits));
  const smooth = b.neg(b.op('ReduceMean', [logProb, b.int64s([1])], { keepdims: 0 }));
  const smoothMean = b.div(b.op('ReduceSum', [b.mul(smooth, valid)], { keepdims: 0 }), b.op('ReduceSum', [valid], { keepdims: 0 }));
  return b.add2(b.mul(nll, b.scalarLike(1 - eps, nll)), b.mul(smoothMean, b.scalarLike(eps, nll)));
}

/** mean(max(x, 0) − x·y + log(1 + e^(−|x|))), the stable form of BCEWithLogitsLoss. */
function bceWithLogits(b: GraphBuilder, x: string, y: string): string {
  const softplusNegAbs = b.op('Log', [b.add2(b.scalarLike(1, x), b.op('Exp', [b.neg(b.op('Abs', [x]))]))]);
  const perElement = b.add2(b.sub(b.op('Relu', [x]), b.mul(x, y)), softplusNegAbs);
  return b.op('ReduceMean', [perElement], { keepdims: 0 });
}

/** mean((logits − labels)²), labels reshaped to the logits (HF squeezes both when num_labels is 1). */
function mse(b: GraphBuilder, logits: string, labels: string): string {
  const diff = b.sub(logits, b.reshapeLike(b.cast(labels, b.type(logits)), logits));
  return b.op('ReduceMean', [b.mul(diff, diff)], { keepdims: 0 });
}

/** The rows of a token-level loss's logits that it reads, flattened, and their labels. */
export interface LabelledTokens {
  logits: string;
  labels: string;
  /** Which of the flattened (batch, sequence) positions are read: bool [B·S]. */
  read: string;
  /** Those positions' flat numbers b·S + s, ascending: int64 [K]. */
  at: string;
}

/**
 * A token-level cross-entropy (token classification, fill-mask, causal LM) reads only the
 * positions whose label is not -100: the logits' rows there and their labels, selected as flat
 * row numbers of the logits' (batch, sequence) axes, which selectedTokens.ts then moves up through
 * the head and the last layer after its attention. A masked LM labels about 15% of its tokens, so
 * its vocabulary projection, the largest product of the step, runs for those alone. The loss is
 * the same mean over the same positions. Undefined for the other tasks.
 */
export function selectLabelledTokens(b: GraphBuilder, logits: string, task: Task | undefined): LabelledTokens | undefined {
  if (task !== 'token-classification' && task !== 'fill-mask' && task !== 'text-generation') return undefined;
  const targets = b.reshape(task === 'text-generation' ? shiftLeft(b, 'labels') : 'labels', [-1]);
  // The first position always counts (its label may be -100, which the loss ignores), so that no
  // product runs over zero rows, which onnxruntime's Reshape to [-1, ..] cannot size.
  const positions = b.op('Range', [b.scalar(0, DataType.INT64), b.op('Size', [targets]), b.scalar(1, DataType.INT64)]);
  const first = b.op('Equal', [positions, b.scalar(0, DataType.INT64)]);
  const labelled = b.op('Or', [b.op('Not', [b.op('Equal', [targets, b.scalar(IGNORE_INDEX, DataType.INT64)])]), first]);
  const at = b.squeeze(b.op('NonZero', [labelled]), [0]);
  const flat = b.op('Flatten', [logits], { axis: b.rank(logits) - 1 });
  return { logits: b.add('Gather', [flat, at], { axis: 0 })[0], labels: b.add('Gather', [targets, at], { axis: 0 })[0], read: labelled, at };
}

/** Mean cross-entropy over every position whose label is not -100 (logits [..., C], labels [...]). */
function tokenCrossEntropy(b: GraphBuilder, logits: string, labels: string): string {
  // Flatten to [positions, C] without needing C statically (a vocabulary may be symbolic).
  const flat = b.op('Flatten', [logits], { axis: b.rank(logits) - 1 });
  const target = b.reshape(labels, [-1]);
  return b.add('SoftmaxCrossEntropyLoss', [flat, target], { reduction: 'mean', ignore_index: IGNORE_INDEX })[0];
}

/**
 * Causal LM targets: position t predicts token t + 1, so labels move one step left and the last
 * position gets -100 (Hugging Face's ForCausalLMLoss pads the labels rather than slicing logits).
 */
function shiftLeft(b: GraphBuilder, labels: string): string {
  const rest = b.op('Slice', [labels, b.int64s([1]), b.int64s([Number.MAX_SAFE_INTEGER]), b.int64s([1])]);
  return b.op('Pad', [rest, b.int64s([0, 0, 0, 1]), b.scalar(IGNORE_INDEX, DataType.INT64)], { mode: 'constant' });
}

/**
 * Extractive QA as BertForQuestionAnswering: positions clamped to [0, seq], seq ignored, and the
 * mean of the start and end cross-entropies.
 */
function spanLoss(b: GraphBuilder, start: string, end: string): string {
  const seq = b.op('Gather', [b.shapeOf(start), b.scalar(1, DataType.INT64)]);
  const ce = (logits: string, positions: string) => {
    const clamped = b.op('Min', [b.op('Max', [positions, b.scalar(0, DataType.INT64)]), seq]);
    const target = b.op('Where', [b.op('Equal', [clamped, seq]), b.scalar(IGNORE_INDEX, DataType.INT64), clamped]);
    return b.add('SoftmaxCrossEntropyLoss', [logits, target], { reduction: 'mean', ignore_index: IGNORE_INDEX })[0];
  };
  const total = b.add2(ce(start, 'start_positions'), ce(end, 'end_positions'));
  return b.mul(total, b.scalarLike(0.5, total));
}
