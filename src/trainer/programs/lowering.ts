// The two forms of a forward graph. Training form: batch normalization on batch statistics
// (with PyTorch's running-statistic update computed beside it) and Dropout on Trainer's seeded
// masks. Inference form: running statistics and no dropout. Both are needed whatever mode the
// model was exported in, just as PyTorch's model.train() and model.eval() switch them.

import { GraphBuilder } from '../onnx/builder';
import { Graph, Node, attrFloat, sortTopologically } from '../onnx/graph';
import { DataType } from '../onnx/tensor';
import { siteKey, uniformLike } from './random';
import { compositeNode } from '../autodiff/composites';

export interface RunningStatUpdate {
  /** Buffer (running mean or variance) name and the value holding its update. */
  buffer: string;
  next: string;
}

function isDefault(n: Node, op: string): boolean {
  return n.op === op && n.domain === '';
}

/** Switches BatchNormalization and Dropout to inference behaviour, in place. */
export function toInferenceForm(graph: Graph): void {
  for (const n of graph.nodes) {
    if (isDefault(n, 'BatchNormalization')) {
      if (graph.opset >= 14) n.attrs.set('training_mode', { kind: 'int', value: 0 });
      n.outputs = [n.outputs[0]];
    } else if (isDefault(n, 'Dropout') && !n.outputs[1]) {
      n.op = 'Identity';
      n.inputs = [n.inputs[0]];
      n.outputs = [n.outputs[0]];
      n.attrs = new Map();
    }
  }
}

/**
 * Switches the graph behind `b` to training behaviour: batch normalizations on batch statistics
 * (returning their running-statistic updates), and each Dropout replaced by x · mask / (1 − ratio)
 * with the mask drawn from the uint32 input `randomKey`.
 */
export function toTrainingForm(b: GraphBuilder, randomKey: string): RunningStatUpdate[] {
  const graph = b.graph;
  const updates: RunningStatUpdate[] = [];
  const original = [...graph.nodes];
  let site = 0;
  for (const n of original) {
    if (isDefault(n, 'BatchNormalization')) {
      updates.push(...decomposeBatchNorm(b, n));
    } else if (isDefault(n, 'Dropout')) {
      replaceDropout(b, n, siteKey(b, randomKey, site++));
    }
  }
  // The mask and statistics nodes were appended at the end; restore a topological order.
  sortTopologically(graph);
  return updates;
}

/**
 * Replaces a BatchNormalization by the BatchNormTraining composite (autodiff/composites.ts: its
 * gradient rule keeps x and the batch statistics; it is expanded into PyTorch's training-mode
 * formula after the backward pass) and returns PyTorch's running-statistic updates:
 * running = momentum·running + (1 − momentum)·batch, with the unbiased variance. (onnxruntime's
 * own training-mode BatchNormalization writes its updated statistics into its mean and variance
 * *inputs*, even graph inputs fed from JavaScript memory, so the operator cannot run with
 * Trainer's buffers.)
 */
function decomposeBatchNorm(b: GraphBuilder, n: Node): RunningStatUpdate[] {
  const [x, scale, bias, mean, variance] = n.inputs;
  const eps = attrFloat(n, 'epsilon', 1e-5);
  // ONNX momentum is the weight of the old value (PyTorch's 1 − momentum).
  const m = attrFloat(n, 'momentum', 0.9);
  const shape = b.shape(x);
  const statShape = shape && shape.map((d, i) => (i === 1 ? d : 1));
  const batchMean = b.fresh(`${n.name}_batch_mean`);
  const biased = b.fresh(`${n.name}_batch_variance`);
  const type = b.type(x);
  // The node itself becomes the composite, keeping its output name and place.
  Object.assign(n, compositeNode(b.graph, 'BatchNormTraining', n.name, [x, scale, bias], [
    { name: n.outputs[0], type, shape },
    { name: batchMean, type, shape: statShape },
    { name: biased, type, shape: statShape },
  ], new Map([['epsilon', { kind: 'float' as const, value: eps }]])));
  b.shapes.inferNode(n);
  // The statistics are folded into the buffers in the buffers' own type (float32 under mixed
  // precision, where the batch statistics are half).
  const flat = (v: string) => b.cast(b.reshape(v, [-1]), b.type(mean));
  const xShape = b.shapeOf(x);
  const count = b.cast(b.op('Div', [b.op('Size', [x]), b.op('Gather', [xShape, b.scalar(1, DataType.INT64)], { axis: 0 })]), b.type(mean));
  const unbiased = b.mul(flat(biased), b.div(count, b.sub(count, b.scalarLike(1, mean))));
  const blend = (old: string, batch: string) => b.add2(b.mul(old, b.scalarLike(m, old)), b.mul(batch, b.scalarLike(1 - m, old)));
  return [
    { buffer: mean, next: blend(mean, flat(batchMean)) },
    { buffer: variance, next: blend(variance, unbiased) },
  ];
}

function replaceDropout(b: GraphBuilder, n: Node, key: string): void {
  const x = n.inputs[0];
  const ratio = n.inputs[1] ? b.constantScalar(n.inputs[1]) : 0.5;
  if (ratio === undefined) throw new Error(`Dropout node "${n.name}" has a ratio that is not a constant`);
  const y = n.outputs[0];
  const maskOut = n.outputs[1];
  // The node becomes y = x · scaled mask (a Mul, differentiated by the Mul rule).
  const keep = b.op('GreaterOrEqual', [uniformLike(b, x, key), b.scalarLike(ratio, x)]);
  const scaled = b.mul(b.cast(keep, b.type(x)), b.scalarLike(ratio < 1 ? 1 / (1 - ratio) : 0, x));
  n.op = 'Mul';
  n.inputs = [x, scaled];
  n.outputs = [y];
  n.attrs = new Map();
  b.shapes.inferNode(n);
  if (maskOut) b.add('Identity', [keep], {}, { outputs: [maskOut] });
}
