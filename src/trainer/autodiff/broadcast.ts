// The one place where broadcast gradients are summed back to an input's shape. Rules for
// broadcasting operators return gradients at the output's shape; this decides statically which
// axes to sum when the shapes say so, and emits a run-time decision when symbols leave it open.

import { GraphBuilder } from '../onnx/builder';
import { compareDims } from '../onnx/shapes/dims';
import { DataType } from '../onnx/tensor';

/** Sums gradient `g` over the axes along which `x` was broadcast, giving x's shape. */
export function reduceToShape(b: GraphBuilder, g: string, x: string): string {
  const gs = b.shape(g);
  const xs = b.shape(x);
  if (!gs || !xs) throw new Error(`cannot sum the broadcast gradient of "${x}" back to its shape: a rank is unknown`);
  const lead = gs.length - xs.length;
  if (lead < 0) throw new Error(`gradient of "${x}" has lower rank (${gs.length}) than the value (${xs.length})`);
  const staticAxes: number[] = [];
  const openAxes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const xd = xs[i];
    const gd = gs[i + lead];
    if (compareDims(xd, gd) === 'equal') continue;
    if (xd === 1) staticAxes.push(i + lead);
    else if (typeof xd === 'number' && typeof gd === 'number') throw new Error(`gradient shape [${gs}] does not broadcast to [${xs}] of "${x}"`);
    // A symbol against a different dim: equal at run time, or x's is 1 there.
    else openAxes.push(i);
  }
  let out = g;
  const leading = Array.from({ length: lead }, (_, i) => i);
  if (leading.length) out = b.reduceSum(out, leading, false);
  if (staticAxes.length) out = b.reduceSum(out, staticAxes.map((a) => a - lead), true);
  if (openAxes.length) out = dynamicReduce(b, out, x, openAxes);
  return out;
}

/**
 * Sums over those of `axes` where x's dimension is 1 at run time. Summing an axis that is 1 in the
 * gradient too is harmless, so the axes are simply "where x's dim equals 1".
 */
function dynamicReduce(b: GraphBuilder, g: string, x: string, axes: number[]): string {
  const dims = b.op('Gather', [b.shapeOf(x), b.int64s(axes)], { axis: 0 });
  const isOne = b.op('Equal', [dims, b.constant({ type: DataType.INT64, dims: [], data: BigInt64Array.of(1n) })]);
  const picked = b.op('Compress', [b.int64s(axes), isOne], { axis: 0 });
  // Compress has no shape rule; the sum has x's shape by construction.
  b.shapes.set(picked, { type: DataType.INT64, shape: ['?axes'] });
  const summed = b.op('ReduceSum', [g, picked], { keepdims: 1, noop_with_empty_axes: 1 });
  b.shapes.set(summed, { type: b.type(g), shape: b.shape(x) });
  return summed;
}
