// Gradient rule of Conv (any spatial rank, strides, pads, dilations, groups). The input gradient
// is a ConvTranspose — the exact adjoint of Conv — and the weight gradient is itself a Conv over
// transposed tensors, so both run on onnxruntime's own convolution kernels.

import { GraphBuilder } from '../../onnx/builder';
import { attrInt, attrInts } from '../../onnx/graph';
import { InferCtx } from '../../onnx/shapes/facts';
import { WindowParams, windowParams } from '../../onnx/shapes/nn';
import { GradContext, defineRule } from '../registry';

/** Explicit kernel, strides, pads and dilations of a Conv-like node (auto_pad resolved). */
export function convParams(g: GradContext, kernelFromWeight: boolean) {
  const x = g.shape(g.x(0))!;
  const kernel = attrInts(g.node, 'kernel_shape') ?? (kernelFromWeight ? (g.shape(g.x(1))!.slice(2) as number[]) : []);
  if (kernel.some((k) => typeof k !== 'number')) g.fail('its kernel size must be static');
  const ctx = new InferCtx(g.node, [], 0);
  return windowParams(ctx, x.slice(2), kernel);
}

/**
 * The input gradient of a windowed operator: ConvTranspose(dy, w) with the end padding left
 * untrimmed, so that it covers every input position some window reached, then cut (or
 * zero-padded, for positions no window reached) to x's spatial size.
 */
export function transposedWindow(b: GraphBuilder, dy: string, w: string, x: string, p: WindowParams, group: number): string {
  const n = p.kernel.length;
  const begin = p.pads.slice(0, n);
  const t = b.op('ConvTranspose', [dy, w], {
    kernel_shape: p.kernel, strides: p.strides, pads: [...begin, ...begin.map(() => 0)], dilations: p.dilations, group,
  });
  return fitSpatial(b, t, x, n);
}

function fitSpatial(b: GraphBuilder, y: string, x: string, spatialRank: number): string {
  const xs = b.shape(x)!;
  const ys = b.shape(y)!;
  const axes = Array.from({ length: spatialRank }, (_, i) => i + 2);
  const diff = axes.map((a) => (typeof xs[a] === 'number' && typeof ys[a] === 'number' ? (xs[a] as number) - (ys[a] as number) : undefined));
  if (diff.every((d) => d !== undefined)) {
    const known = diff as number[];
    let out = y;
    if (known.some((d) => d > 0)) out = b.op('Pad', [out, b.int64s([...axes.map(() => 0), ...known.map((d) => Math.max(d, 0))]), b.scalarLike(0, y), b.int64s(axes)]);
    if (known.some((d) => d < 0)) out = b.op('Slice', [out, b.int64s(axes.map(() => 0)), b.int64s(axes.map((a) => xs[a] as number)), b.int64s(axes)]);
    return out;
  }
  const want = b.op('Gather', [b.shapeOf(x), b.int64s(axes)], { axis: 0 });
  const have = b.op('Gather', [b.shapeOf(y), b.int64s(axes)], { axis: 0 });
  const missing = b.op('Max', [b.sub(want, have), b.int64s(axes.map(() => 0))]);
  const padded = b.op('Pad', [y, b.op('Concat', [b.int64s(axes.map(() => 0)), missing], { axis: 0 }), b.scalarLike(0, y), b.int64s(axes)]);
  const out = b.op('Slice', [padded, b.int64s(axes.map(() => 0)), want, b.int64s(axes)]);
  b.shapes.set(out, { type: b.type(y), shape: xs });
  return out;
}

defineRule('Conv', {
  inputs: 'all',
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const [x, w] = [g.x(0), g.x(1)];
    const group = attrInt(g.node, 'group', 1);
    const p = convParams(g, true);
    const n = p.kernel.length;
    let dx: string | undefined;
    let dw: string | undefined;
    let db: string | undefined;
    if (g.needs(0)) {
      dx = transposedWindow(b, dy, w, x, p, group);
    }
    if (g.needs(1)) dw = weightGradient(g, x, dy, p, group);
    if (g.node.inputs[2] && g.needs(2)) {
      db = b.reduceSum(dy, [0, ...Array.from({ length: n }, (_, i) => i + 2)], false);
    }
    return [dx, dw, db];
  },
});

/**
 * dW[m, c, k] = Σ_n Σ_p X[n, g·Cg + c, k·d + p·s − pad] · dY[n, m, p]: a convolution whose batch
 * is X's channels within a group, whose channels are (group, sample), and whose kernel is dY, with
 * the roles of stride and dilation swapped. Its output can exceed the kernel; the rest is cut.
 * ConvTranspose's weight gradient is the same sum with X and dY trading places.
 */
export function weightGradient(g: GradContext, x: string, dy: string, p: WindowParams, group: number): string {
  const { b } = g;
  const n = p.kernel.length;
  const xs = b.shape(x)!;
  const ws = b.shape(g.x(1))!;
  const cg = ws[1];
  if (typeof cg !== 'number') g.fail('its weight must have a static shape');
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  let xt: string;
  if (group === 1) {
    xt = b.transpose(x, [1, 0, ...spatial]);
  } else {
    // [N, g·Cg, S] → [N, g, Cg, S] → [Cg, g, N, S] → [Cg, g·N, S]
    const size = xs.slice(2);
    // Spatial sizes known only at run time (after a "same" Pad computed from the input's size)
    // are read from the shape in the graph.
    const spatialOf = (v: string, from: number) => (size.every((d) => typeof d === 'number')
      ? b.int64s(size as number[])
      : b.op('Slice', [b.shapeOf(v), b.int64s([from]), b.int64s([from + n])]));
    const split = b.reshape(x, b.op('Concat', [b.int64s([-1, group, cg]), spatialOf(x, 2)], { axis: 0 }));
    const moved = b.transpose(split, [2, 1, 0, ...spatial.map((a) => a + 1)]);
    xt = b.reshape(moved, b.op('Concat', [b.int64s([cg, -1]), spatialOf(moved, 3)], { axis: 0 }));
  }
  const dyt = b.transpose(dy, [1, 0, ...spatial]);
  const conv = b.op('Conv', [xt, dyt], {
    strides: p.dilations, dilations: p.strides, pads: p.pads, group,
  });
  let out = b.transpose(conv, [1, 0, ...spatial]);
  const os = b.shape(out);
  const needsCut = !os || spatial.some((a, i) => os[a] !== p.kernel[i]);
  if (needsCut) {
    out = b.op('Slice', [out, b.int64s(spatial.map(() => 0)), b.int64s(p.kernel), b.int64s(spatial)]);
  }
  return out;
}
