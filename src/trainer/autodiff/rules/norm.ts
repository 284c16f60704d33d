// Gradient rules of BatchNormalization (training mode: batch statistics; inference mode:
// running statistics), LayerNormalization, InstanceNormalization and GroupNormalization. Statistics are recomputed in the backward graph in
// the input's own precision.

import { GraphBuilder } from '../../onnx/builder';
import { attrFloat, attrInt } from '../../onnx/graph';
import { normalizeAxis } from '../../onnx/shapes/dims';
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

/** Batch normalization's axes (all but the channel axis 1) and a reshape of [C] to broadcast against x. */
export function perChannelAxes(b: GraphBuilder, x: string): { axes: number[]; perChannel: (v: string) => string } {
  const rank = b.rank(x);
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  return { axes, perChannel: (v: string) => b.unsqueeze(v, axes.length > 1 ? [0, ...axes.slice(1)] : [0]) };
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
