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
    const known = (i: number) => {
      const v = b.facts(g.x(i)).value;
      return v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
    };
    const starts = known(1);
    const ends = known(2);
    const count = starts?.length ?? ends?.length ?? b.shape(g.x(1))?.[0];
    if (typeof count !== 'number') return g.fail('the number of sliced axes must be static for its gradient');
    const axes = g.node.inputs[3] ? g.constInts(3, 'axes').map((a) => normalizeAxis(a, rank)) : Array.from({ length: count }, (_, i) => i);
    const steps = g.node.inputs[4] ? known(4) : axes.map(() => 1);
    // INT64_MAX ("to the end") reads as 2^63 in JavaScript, which would wrap to INT64_MIN.
    const bounded = (v: number[]) => v.map((x) => Math.max(Math.min(x, 2 ** 62), -(2 ** 62)));
    const runtime = (i: number, v: number[] | undefined) => (v ? b.int64s(bounded(v)) : b.type(g.x(i)) === DataType.INT64 ? g.x(i) : b.cast(g.x(i), DataType.INT64));
    if (!steps || steps.some((s) => s !== 1)) {
      return [scatterSliceBack(g, axes, runtime(1, starts), runtime(2, ends), g.node.inputs[4] ? runtime(4, steps) : b.int64s(axes.map(() => 1)))];
    }
    const shape = b.shape(x)!;
    if (!starts || !ends || axes.some((a) => typeof shape[a] !== 'number')) {
      // Starts or ends computed at run time (from shapes: partial rotary embeddings), or a
      // symbolic axis: the same pads, computed in the graph.
      return [dynamicSlicePad(g, axes, runtime(1, starts), runtime(2, ends))];
    }
    const before = new Array<number>(rank).fill(0);
    const after = new Array<number>(rank).fill(0);
    axes.forEach((a, i) => {
      const d = shape[a] as number;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]);
      const e = Math.max(clamp(ends[i]), s);
      before[a] = s;
      after[a] = d - e;
    });
    return [b.op('Pad', [g.dy()!, b.int64s([...before, ...after])])];
  },
});

/**
 * Strided slices (Swin's patch merging, x[:, 0::2]): one axis at a time, in reverse, the
 * positions the slice picked are found by slicing Range(0, n) the same way (so onnxruntime's own
 * clamping and negative steps apply), and the gradient is scattered back onto them.
 */
function scatterSliceBack(g: GradContext, axes: number[], starts: string, ends: string, steps: string): string {
  const { b } = g;
  const pick = (v: string, i: number) => b.op('Slice', [v, b.int64s([i]), b.int64s([i + 1])]);
  const stages = [g.x(0)];
  axes.forEach((a, i) => stages.push(b.op('Slice', [stages[i], pick(starts, i), pick(ends, i), b.int64s([a]), pick(steps, i)])));
  let dx = g.dy()!;
  for (let i = axes.length - 1; i >= 0; i--) {
    const source = stages[i];
    const rank = b.rank(source);
    const n = b.squeeze(b.op('Gather', [b.shapeOf(source), b.int64s([axes[i]])], { axis: 0 }), [0]);
    const positions = b.op('Slice', [b.op('Range', [b.scalar(0, DataType.INT64), n, b.scalar(1, DataType.INT64)]), pick(starts, i), pick(ends, i), b.int64s([0]), pick(steps, i)]);
    const along = b.reshape(positions, Array.from({ length: rank }, (_, k) => (k === axes[i] ? -1 : 1)));
    const indices = b.op('Expand', [along, b.shapeOf(dx)]);
    dx = b.op('ScatterElements', [b.zerosLike(source), indices, dx], { axis: axes[i] });
  }
  return dx;
}

/** Pads computed at run time from Shape(x) and the starts and ends values (int64 tensors). */
function dynamicSlicePad(g: GradContext, axes: number[], starts: string, ends: string): string {
  const { b } = g;
  const x = g.x(0);
  const dims = b.op('Gather', [b.shapeOf(x), b.int64s(axes)], { axis: 0 });
  const zero = b.int64s(axes.map(() => 0));
  const clamp = (v: string) => {
    const wrapped = b.op('Where', [b.op('Less', [v, zero]), b.add2(v, dims), v]);
    return b.op('Min', [b.op('Max', [wrapped, zero]), dims]);
  };
  const s = clamp(starts);
  const e = b.op('Max', [clamp(ends), s]);
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
