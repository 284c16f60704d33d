// Loss heads by problem_type, as Hugging Face's sequence-classification models compute them:
// cross-entropy (optional class weights, label smoothing), BCE-with-logits, MSE.

import { GraphBuilder } from '../onnx/builder';
import { Dim } from '../onnx/graph';
import { DataType, fromNumbers } from '../onnx/tensor';

export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

export interface LossHeadOptions {
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

/** Appends the loss of `logits` against the graph input `labels`; returns the scalar loss. */
export function addLossHead(b: GraphBuilder, logits: string, labels: string, opts: LossHeadOptions): string {
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
