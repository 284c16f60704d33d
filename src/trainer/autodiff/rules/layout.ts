// Gradient rules of operators that only move or copy data: Reshape Flatten Squeeze Unsqueeze
// Transpose Expand Concat Split Slice Gather GatherElements.

import { attrInt, attrInts } from '../../onnx/graph';
import { normalizeAxis } from '../../onnx/shapes/dims';
import { DataType } from '../../onnx/tensor';
import { GradContext, defineRule } from '../registry';

/** Gradients of pure reshapes: put the gradient back into the input's shape. */
function reshapeBack(g: GradContext): (string | undefined)[] {
  return [g.b.reshapeLike(g.dy()!, g.x(0))];
}

defineRule(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'], { inputs: [0], backward: reshapeBack });

defineRule('Transpose', {
  inputs: [0],
  backward: (g) => {
    const r = g.rank(g.x(0));
    const perm = attrInts(g.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const inverse = new Array<number>(r);
    perm.forEach((p, i) => (inverse[p] = i));
    return [g.b.transpose(g.dy()!, inverse)];
  },
});

defineRule('Expand', { inputs: [0], broadcast: true, backward: (g) => [g.dy()] });

/** Sizes of each input along `axis`, as an int64 tensor (static when the shapes say so). */
function sizesAlong(g: GradContext, values: string[], axis: number): string {
  const { b } = g;
  const dims = values.map((v) => b.shape(v)?.[axis]);
  if (dims.every((d) => typeof d === 'number')) return b.int64s(dims as number[]);
  const parts = values.map((v) => b.op('Gather', [b.shapeOf(v), b.int64s([axis])], { axis: 0 }));
  return b.op('Concat', parts, { axis: 0 });
}

defineRule('Concat', {
  inputs: 'all',
  backward: (g) => {
    const { b } = g;
    const axis = normalizeAxis(attrInt(g.node, 'axis', 0), g.rank(g.x(0)));
    const n = g.node.inputs.length;
    if (n === 1) return [g.dy()];
    const outs = b.add('Split', [g.dy()!, sizesAlong(g, g.node.inputs, axis)], { axis }, { outputs: n });
    return outs.map((o, i) => (g.needs(i) ? o : undefined));
  },
});

defineRule('Split', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const axis = normalizeAxis(attrInt(g.node, 'axis', 0), g.rank(g.x(0)));
    const parts = g.node.outputs.map((_, i) => g.dyOrZeros(i));
    return [parts.length === 1 ? parts[0] : b.op('Concat', parts, { axis })];
  },
});

defineRule('Slice', {
  inputs: [0],
  backward: (g) => {
    // Pad the gradient back to the input's extent: pads are the clamped starts before and what
    // remains after the end, per sliced axis. Strided slices are not supported.
    const { b } = g;
    const x = g.x(0);
    const rank = g.rank(x);
    const starts = g.constInts(1, 'starts');
    const ends = g.constInts(2, 'ends');
    const axes = g.node.inputs[3] ? g.constInts(3, 'axes').map((a) => normalizeAxis(a, rank)) : starts.map((_, i) => i);
    const steps = g.node.inputs[4] ? g.constInts(4, 'steps') : starts.map(() => 1);
    if (steps.some((s) => s !== 1)) g.fail('slices with steps other than 1 have no gradient rule yet');
    const shape = b.shape(x)!;
    const before = new Array<number | string>(rank).fill(0);
    const after = new Array<number | string>(rank).fill(0);
    let dynamic = false;
    axes.forEach((a, i) => {
      const d = shape[a];
      if (typeof d !== 'number') {
        dynamic = true;
        return;
      }
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]);
      const e = Math.max(clamp(ends[i]), s);
      before[a] = s;
      after[a] = d - e;
    });
    if (!dynamic) return [b.op('Pad', [g.dy()!, b.int64s([...before, ...after] as number[])])];
    return [dynamicSlicePad(g, axes, starts, ends)];
  },
});

/** Pads computed at run time from Shape(x) when a sliced axis has a symbolic size. */
function dynamicSlicePad(g: GradContext, axes: number[], starts: number[], ends: number[]): string {
  const { b } = g;
  const x = g.x(0);
  const dims = b.op('Gather', [b.shapeOf(x), b.int64s(axes)], { axis: 0 });
  const clamp = (v: string) => {
    const wrapped = b.op('Where', [b.op('Less', [v, b.int64s(axes.map(() => 0))]), b.add2(v, dims), v]);
    return b.op('Min', [b.op('Max', [wrapped, b.int64s(axes.map(() => 0))]), dims]);
  };
  const s = clamp(b.int64s(starts));
  const e = b.op('Max', [clamp(b.int64s(ends)), s]);
  const pads = b.op('Concat', [s, b.sub(dims, e)], { axis: 0 });
  return b.op('Pad', [g.dy()!, pads, b.scalarLike(0, g.dy()!), b.int64s(axes)]);
}

defineRule('Gather', {
  inputs: [0],
  backward: (g) => {
    // Scatter-add the rows back: repeated indices (a token used twice) add up.
    const { b } = g;
    const x = g.x(0);
    const rank = g.rank(x);
    const axis = normalizeAxis(attrInt(g.node, 'axis', 0), rank);
    let idx = g.x(1);
    if (b.type(idx) !== DataType.INT64) idx = b.cast(idx, DataType.INT64);
    const dimSize = b.op('Gather', [b.shapeOf(x), b.int64s([axis])], { axis: 0 });
    // Negative indices count from the end.
    idx = b.op('Where', [b.op('Less', [idx, b.scalar(0, DataType.INT64)]), b.add2(idx, b.squeeze(dimSize, [0])), idx]);
    let dy = g.dy()!;
    const idxRank = g.rank(g.x(1));
    // Move the gathered axis to the front so that ScatterND indexes it.
    const moveFront = (r: number, at: number, len: number) =>
      [...Array.from({ length: len }, (_, i) => at + i), ...Array.from({ length: r }, (_, i) => i).filter((i) => i < at || i >= at + len)];
    const dyRank = g.rank(dy);
    if (axis !== 0) dy = b.transpose(dy, moveFront(dyRank, axis, idxRank));
    let target = axis === 0 ? x : b.transpose(x, moveFront(rank, axis, 1));
    const zeros = b.zerosLike(target);
    const scattered = b.scatterAdd('ScatterND', zeros, b.unsqueeze(idx, [idxRank]), dy);
    if (axis === 0) return [scattered];
    const back = new Array<number>(rank);
    moveFront(rank, axis, 1).forEach((p, i) => (back[p] = i));
    target = b.transpose(scattered, back);
    return [target];
  },
});

defineRule('GatherElements', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const axis = attrInt(g.node, 'axis', 0);
    let idx = g.x(1);
    if (b.type(idx) !== DataType.INT64) idx = b.cast(idx, DataType.INT64);
    return [b.scatterAdd('ScatterElements', b.zerosLike(g.x(0)), idx, g.dy()!, { axis })];
  },
});
