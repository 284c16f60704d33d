// Gradient rules of reductions: ReduceSum, ReduceMean, ReduceSumSquare, ReduceMax, ReduceMin,
// ReduceL2, ReduceLogSumExp. The gradient is the output gradient broadcast back over the reduced
// axes, times the derivative of the reduction (which for L2 and LogSumExp reads the output).

import { attrInt, attrInts } from '../../onnx/graph';
import { isStatic, normalizeAxis } from '../../onnx/shapes/dims';
import { DataType } from '../../onnx/tensor';
import { GradContext, defineRule } from '../registry';

/** The reduced axes of a Reduce* node, normalized; all axes when none are given. */
function reducedAxes(g: GradContext): number[] | 'none' {
  const rank = g.rank(g.x(0));
  const axes = attrInts(g.node, 'axes') ?? (g.node.inputs[1] ? g.constInts(1, 'axes') : []);
  if (axes.length === 0) {
    if (attrInt(g.node, 'noop_with_empty_axes', 0) === 1) return 'none';
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normalizeAxis(a, rank)).sort((a, b) => a - b);
}

/** dy broadcast to x's shape over the reduced axes. */
function spread(g: GradContext, axes: number[], dy: string): string {
  const { b } = g;
  const x = g.x(0);
  const kept = attrInt(g.node, 'keepdims', 1) === 1 ? dy : b.unsqueeze(dy, axes);
  const shape = b.shape(x);
  return b.op('Expand', [kept, isStatic(shape) ? b.int64s(shape) : b.shapeOf(x)]);
}

/** Number of elements each output element summed over, as a scalar of x's type. */
function count(g: GradContext, axes: number[]): string {
  const { b } = g;
  const x = g.x(0);
  const shape = b.shape(x)!;
  const dims = axes.map((a) => shape[a]);
  if (dims.every((d) => typeof d === 'number')) return b.scalarLike((dims as number[]).reduce((p, d) => p * d, 1), x);
  const sizes = b.op('Gather', [b.shapeOf(x), b.int64s(axes)], { axis: 0 });
  const n = b.op('ReduceProd', [sizes, b.int64s([0])], { keepdims: 0 });
  return b.cast(n, b.type(x) as DataType);
}

defineRule('ReduceSum', {
  inputs: [0],
  backward: (g) => {
    const axes = reducedAxes(g);
    if (axes === 'none') return [g.dy()];
    return [spread(g, axes, g.dy()!)];
  },
});

defineRule('ReduceMean', {
  inputs: [0],
  backward: (g) => {
    const axes = reducedAxes(g);
    if (axes === 'none') return [g.dy()];
    return [g.b.div(spread(g, axes, g.dy()!), count(g, axes))];
  },
});

defineRule('ReduceSumSquare', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const axes = reducedAxes(g);
    const x = g.x(0);
    const twoX = b.mul(x, b.scalarLike(2, x));
    if (axes === 'none') return [b.mul(g.dy()!, twoX)];
    return [b.mul(spread(g, axes, g.dy()!), twoX)];
  },
});

/** The forward output with the reduced axes kept, so that it broadcasts against x. */
function keptOutput(g: GradContext, axes: number[]): string {
  return attrInt(g.node, 'keepdims', 1) === 1 ? g.y(0) : g.b.unsqueeze(g.y(0), axes);
}

/**
 * ReduceMax / ReduceMin: the gradient goes to the elements equal to the extremum and is shared
 * evenly among ties, as torch.amax / torch.amin do (torch.max with indices picks one instead).
 */
function extremum(g: GradContext): (string | undefined)[] {
  const { b } = g;
  const x = g.x(0);
  const axes = reducedAxes(g);
  if (axes === 'none') return [g.dy()];
  const hit = b.cast(b.op('Equal', [x, keptOutput(g, axes)]), g.type(x));
  const ties = b.reduceSum(hit, axes, true);
  return [b.mul(spread(g, axes, g.dy()!), b.div(hit, ties))];
}

defineRule('ReduceMax', { inputs: [0], backward: extremum });
defineRule('ReduceMin', { inputs: [0], backward: extremum });

defineRule('ReduceL2', {
  inputs: [0],
  backward: (g) => {
    // d‖x‖/dx = x/‖x‖, and 0 where the norm is 0 (torch's subgradient there).
    const { b } = g;
    const x = g.x(0);
    const axes = reducedAxes(g);
    if (axes === 'none') return [g.dy()]; // the spec's no-op reduction is the identity
    const norm = keptOutput(g, axes);
    const zero = b.scalarLike(0, x);
    const isZero = b.op('Equal', [norm, zero]);
    const safe = b.op('Where', [isZero, b.scalarLike(1, x), norm]);
    const ratio = b.op('Where', [isZero, zero, b.div(x, safe)]);
    return [b.mul(spread(g, axes, g.dy()!), ratio)];
  },
});

defineRule('ReduceLogSumExp', {
  inputs: [0],
  backward: (g) => {
    // The derivative is the softmax over the reduced axes: exp(x − y).
    const { b } = g;
    const axes = reducedAxes(g);
    if (axes === 'none') return [g.dy()];
    return [b.mul(spread(g, axes, g.dy()!), b.op('Exp', [b.sub(g.x(0), keptOutput(g, axes))]))];
  },
});
