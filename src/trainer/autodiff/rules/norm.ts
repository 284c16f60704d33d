// Gradient rules of BatchNormalization (training mode: batch statistics; inference mode:
// running statistics), LayerNormalization, InstanceNormalization and GroupNormalization. Statistics are recomputed in the backward graph in
// the input's own precision.

import { GraphBuilder } from '../../onnx/builder';
import { attrFloat, attrInt } from '../../onnx/graph';
import { normalizeAxis } from '../../onnx/shapes/dims';
import { isFullPrecisionFloat } from '../../onnx/tensor';
import { GradContext, defineRule } from '../registry';

/** Whether a BatchNormalization node normalizes with batch statistics. */
export function batchNormTraining(node: GradContext['node']): boolean {
  // Opset 14 added training_mode; before it, extra outputs meant training.
  if (node.attrs.has('training_mode')) return attrInt(node, 'training_mode', 0) === 1;
  return node.outputs.filter((o) => o).length > 1;
}

/** x's normalized form and 1/σ over `axes` (kept dims). */
function standardize(b: GraphBuilder, x: string, axes: number[], eps: number) {
  const mean = b.reduceMean(x, axes, true);
  const centered = b.sub(x, mean);
  const variance = b.reduceMean(b.mul(centered, centered), axes, true);
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.add2(variance, b.scalarLike(eps, x))])]);
  return { xhat: b.mul(centered, invStd), invStd };
}

/** dx = invσ · (d − mean(d) − x̂ · mean(d · x̂)) over the normalized axes, d = dy · scale. */
function normalizeBackward(b: GraphBuilder, d: string, xhat: string, invStd: string, axes: number[]): string {
  const m1 = b.reduceMean(d, axes, true);
  const m2 = b.reduceMean(b.mul(d, xhat), axes, true);
  return b.mul(invStd, b.sub(b.sub(d, m1), b.mul(xhat, m2)));
}

/**
 * Batch normalization's axes (all but the channel axis 1), a reshape of [C] to broadcast against
 * x, and `reduce`: a sum or mean over those axes of a tensor shaped like x, kept as [1, C, 1, …]
 * (into `output` where given).
 */
export function perChannelAxes(b: GraphBuilder, x: string): {
  axes: number[];
  perChannel: (v: string) => string;
  reduce: (op: 'ReduceSum' | 'ReduceMean', v: string, output?: string) => string;
} {
  const rank = b.rank(x);
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const perChannel = (v: string) => b.unsqueeze(v, axes.length > 1 ? [0, ...axes.slice(1)] : [0]);
  // Half precision keeps one stage: with two, the fp16 CNN parity model's first gradient norm
  // moved 1.7% away from PyTorch's float32 one (test/programs/precision.test.ts), with one it
  // stays within that test's bounds.
  const inTwo = rank >= 3 && isFullPrecisionFloat(b.type(x));
  const reduce = (op: 'ReduceSum' | 'ReduceMean', v: string, output?: string) =>
    (inTwo ? reduceInTwo(b, op, v, rank, output) : reduceOver(b, op, v, axes, output));
  return { axes, perChannel, reduce };
}

/** One ReduceSum or ReduceMean over `axes`, dims kept, into `output` where given. */
function reduceOver(b: GraphBuilder, op: 'ReduceSum' | 'ReduceMean', v: string, axes: number[], output?: string): string {
  return b.add(op, [v, b.int64s(axes)], { keepdims: 1 }, output ? { outputs: [output] } : {})[0];
}

/**
 * A per-channel sum or mean of an [N, C, …] tensor as [1, C, 1, …], in two stages: over each image's
 * positions (the trailing axes, which onnxruntime reduces as one contiguous run per image and
 * channel, on all threads), then over the batch. onnxruntime reduces over axes [0, 2, 3] at once
 * far more slowly. Isolated, batch 32, 2 threads (ReduceMean one stage / two; Mul + ReduceSum,
 * batch norm's Σ dy·xc, one / two): [64, 112, 112] 3.2–3.4 / 2.4–2.7 and 8.8 / 7.5–7.8 ms;
 * [64, 56, 56] 0.82–1.22 / 0.42–0.72 and 2.5–3.4 / 1.8–2.1; [128, 28, 28] 0.37–0.50 / 0.24–0.31
 * and 1.26–1.41 / 0.70–0.88; [64, 32, 32] 0.22–0.34 / 0.20–0.22 and 0.81–0.96 / 0.38–0.52; down
 * to [512, 2, 2] 0.09 / 0.07 and 0.13 / 0.12–0.13. The mean of the images' means is the mean:
 * every image has the same number of positions.
 */
function reduceInTwo(b: GraphBuilder, op: 'ReduceSum' | 'ReduceMean', v: string, rank: number, output?: string): string {
  const perImage = reduceOver(b, op, v, Array.from({ length: rank - 2 }, (_, i) => i + 2));
  return reduceOver(b, op, perImage, [0], output);
}

defineRule('BatchNormalization', {
  inputs: [0, 1, 2],
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const [x, scale] = [g.x(0), g.x(1)];
    const { axes, perChannel } = perChannelAxes(b, x);
    const eps = attrFloat(g.node, 'epsilon', 1e-5);
    let xhat: string;
    let invStd: string;
    if (batchNormTraining(g.node)) {
      ({ xhat, invStd } = standardize(b, x, axes, eps));
    } else {
      invStd = perChannel(b.op('Reciprocal', [b.op('Sqrt', [b.add2(g.x(4), b.scalarLike(eps, x))])]));
      xhat = b.mul(b.sub(x, perChannel(g.x(3))), invStd);
    }
    let dx: string | undefined;
    if (g.needs(0)) {
      const d = b.mul(dy, perChannel(scale));
      dx = batchNormTraining(g.node) ? normalizeBackward(b, d, xhat, invStd, axes) : b.mul(d, invStd);
    }
    const dscale = g.needs(1) ? b.reduceSum(b.mul(dy, xhat), axes, false) : undefined;
    const dbias = g.needs(2) ? b.reduceSum(dy, axes, false) : undefined;
    return [dx, dscale, dbias];
  },
});

defineRule('LayerNormalization', {
  inputs: [0, 1, 2],
  broadcast: true,
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const x = g.x(0);
    const rank = g.rank(x);
    const axis = normalizeAxis(attrInt(g.node, 'axis', -1), rank);
    const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const { xhat, invStd } = standardize(b, x, axes, attrFloat(g.node, 'epsilon', 1e-5));
    const dx = g.needs(0) ? normalizeBackward(b, b.mul(dy, g.x(1)), xhat, invStd, axes) : undefined;
    // Scale and bias gradients at x's shape; the engine sums the leading axes away.
    const dscale = g.needs(1) ? b.mul(dy, xhat) : undefined;
    return [dx, dscale, g.node.inputs[2] && g.needs(2) ? dy : undefined];
  },
});

/** Axes 2…rank−1: the spatial axes of an [N, C, …] tensor. */
function spatialAxes(rank: number): number[] {
  return Array.from({ length: rank - 2 }, (_, i) => i + 2);
}

defineRule('InstanceNormalization', {
  inputs: [0, 1, 2],
  backward: (g) => {
    // Each (sample, channel) is standardized over its spatial positions, then scaled per channel.
    const { b } = g;
    const dy = g.dy()!;
    const [x, scale] = [g.x(0), g.x(1)];
    const axes = spatialAxes(g.rank(x));
    const perChannel = (v: string) => b.unsqueeze(v, axes.map((a) => a - 1));
    const { xhat, invStd } = standardize(b, x, axes, attrFloat(g.node, 'epsilon', 1e-5));
    const dx = g.needs(0) ? normalizeBackward(b, b.mul(dy, perChannel(scale)), xhat, invStd, axes) : undefined;
    const dscale = g.needs(1) ? b.reduceSum(b.mul(dy, xhat), [0, ...axes], false) : undefined;
    const dbias = g.needs(2) ? b.reduceSum(dy, [0, ...axes], false) : undefined;
    return [dx, dscale, dbias];
  },
});

defineRule('GroupNormalization', {
  inputs: [0, 1, 2],
  backward: (g) => {
    // Statistics over [N, G, C/G·spatial]. Opset 18 gave scale and bias one value per group;
    // opset 21 made them per channel (the version in force is the graph's opset).
    const { b } = g;
    const dy = g.dy()!;
    const [x, scale] = [g.x(0), g.x(1)];
    const rank = g.rank(x);
    const groups = attrInt(g.node, 'num_groups', 1);
    const perGroup = b.graph.opset < 21;
    const grouped = (v: string) => b.reshape(v, [0, groups, -1]);
    const { xhat, invStd } = standardize(b, grouped(x), [2], attrFloat(g.node, 'epsilon', 1e-5));
    const channelAxes = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    const scaled = perGroup ? b.mul(grouped(dy), b.unsqueeze(scale, [1])) : grouped(b.mul(dy, b.unsqueeze(scale, channelAxes)));
    const dx = g.needs(0) ? b.reshapeLike(normalizeBackward(b, scaled, xhat, invStd, [2]), x) : undefined;
    let dscale: string | undefined;
    let dbias: string | undefined;
    if (perGroup) {
      if (g.needs(1)) dscale = b.reduceSum(b.mul(grouped(dy), xhat), [0, 2], false);
      if (g.needs(2)) dbias = b.reduceSum(grouped(dy), [0, 2], false);
    } else {
      const axes = [0, ...spatialAxes(rank)];
      if (g.needs(1)) dscale = b.reduceSum(b.mul(dy, b.reshapeLike(xhat, x)), axes, false);
      if (g.needs(2)) dbias = b.reduceSum(dy, axes, false);
    }
    return [dx, dscale, dbias];
  },
});
