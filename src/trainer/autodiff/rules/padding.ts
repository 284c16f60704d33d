// Gradient rules of Tile and Pad. Tile's gradient sums the copies; Pad's gradient cuts the
// padding away (constant mode) and adds what reflect/edge/wrap padding copied back onto its source.

import { DataType } from '../../onnx/tensor';
import { GraphBuilder } from '../../onnx/builder';
import { attrString } from '../../onnx/graph';
import { normalizeAxis } from '../../onnx/shapes/dims';
import { GradContext, defineRule } from '../registry';

defineRule('Tile', {
  inputs: [0],
  backward: (g) => {
    // dy viewed as [r0, d0, r1, d1, …] (copy index outside each axis) and summed over the copies.
    const { b } = g;
    const x = g.x(0);
    const shape = b.shape(x)!;
    const known = b.facts(g.x(1)).value;
    // Repeats computed at run time (DeBERTa's dynamo export) are read from the repeats tensor.
    const rep = (i: number) => (known && typeof known[i] === 'number' ? b.int64s([known[i] as number]) : b.op('Slice', [g.x(1), b.int64s([i]), b.int64s([i + 1])]));
    const dims = shape.map((d, i) => (typeof d === 'number' ? b.int64s([d]) : b.op('Slice', [b.shapeOf(x), b.int64s([i]), b.int64s([i + 1])])));
    const split = b.op('Concat', shape.flatMap((_, i) => [rep(i), dims[i]]), { axis: 0 });
    const summed = b.reduceSum(b.reshape(g.dy()!, split), shape.map((_, i) => 2 * i), false);
    return [b.reshapeLike(summed, x)];
  },
});

/** Pads per axis (begin, end) from Pad's inputs, over every axis of x. */
function padsOf(g: GradContext): { begin: number[]; end: number[] } {
  const rank = g.rank(g.x(0));
  const pads = g.constInts(1, 'pads');
  const axes = g.node.inputs[3] ? g.constInts(3, 'axes').map((a) => normalizeAxis(a, rank)) : Array.from({ length: rank }, (_, i) => i);
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  axes.forEach((a, i) => {
    begin[a] = pads[i];
    end[a] = pads[i + axes.length];
  });
  return { begin, end };
}

/** x[start:end] along one axis, with an optional step. */
function sliceAxis(b: GraphBuilder, x: string, axis: number, start: number, end: number, step = 1): string {
  return b.op('Slice', [x, b.int64s([start]), b.int64s([end]), b.int64s([axis]), b.int64s([step])]);
}

/** Zero-pads x along one axis. */
function padAxis(b: GraphBuilder, x: string, axis: number, before: number, after: number): string {
  if (before === 0 && after === 0) return x;
  const rank = b.rank(x);
  const pads = new Array<number>(2 * rank).fill(0);
  pads[axis] = before;
  pads[axis + rank] = after;
  return b.op('Pad', [x, b.int64s(pads)]);
}

/**
 * The adjoint of reflect or edge padding along one axis of size n: the middle of dy, plus the
 * mirrored (reflect) or summed (edge) border gradients added onto the elements they copied.
 */
function unpadAxis(b: GraphBuilder, dy: string, axis: number, n: number, p0: number, p1: number, mode: string): string {
  const LOW = -(2 ** 62);
  let dx = sliceAxis(b, dy, axis, p0, p0 + n);
  if (p0 > 0) {
    const border = mode === 'reflect'
      ? padAxis(b, sliceAxis(b, dy, axis, p0 - 1, LOW, -1), axis, 1, n - 1 - p0) // y[i] = x[p0 − i]
      : padAxis(b, b.reduceSum(sliceAxis(b, dy, axis, 0, p0), [axis], true), axis, 0, n - 1);
    dx = b.add2(dx, border);
  }
  if (p1 > 0) {
    const last = p0 + n + p1 - 1;
    const border = mode === 'reflect'
      ? padAxis(b, sliceAxis(b, dy, axis, last, p0 + n - 1, -1), axis, n - 1 - p1, 1) // y[p0+n+j] = x[n−2−j]
      : padAxis(b, b.reduceSum(sliceAxis(b, dy, axis, p0 + n, last + 1), [axis], true), axis, n - 1, 0);
    dx = b.add2(dx, border);
  }
  return dx;
}

/**
 * The adjoint of wrap padding along one axis of size n: y[i] = x[(i − p0) mod n], so dy is shifted
 * to start on a period, zero-filled to whole periods, split into [periods, n], and summed.
 */
function unwrapAxis(b: GraphBuilder, dy: string, axis: number, n: number, p0: number, p1: number): string {
  const shift = (n - (p0 % n)) % n;
  const length = p0 + n + p1 + shift;
  const periods = Math.ceil(length / n);
  const aligned = padAxis(b, dy, axis, shift, periods * n - length);
  const rank = b.rank(dy);
  const shape = b.shapeOf(aligned);
  const split = b.op('Concat', [
    b.op('Slice', [shape, b.int64s([0]), b.int64s([axis])]),
    b.int64s([periods, n]),
    b.op('Slice', [shape, b.int64s([axis + 1]), b.int64s([rank])]),
  ], { axis: 0 });
  return b.reduceSum(b.reshape(aligned, split), [axis], false);
}

defineRule('Pad', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const x = g.x(0);
    const dy = g.dy()!;
    const mode = attrString(g.node, 'mode', 'constant');
    const known = b.facts(g.x(1)).value;
    if (mode === 'constant' && !(known && known.every((v) => typeof v === 'number'))) {
      // Pads computed at run time ("same" padding from the input's size): negate them in the graph.
      const pads = b.type(g.x(1)) === DataType.INT64 ? g.x(1) : b.cast(g.x(1), DataType.INT64);
      const axes = g.node.inputs[3] ? [b.int64s(g.constInts(3, 'axes'))] : [];
      return [b.op('Pad', [dy, b.op('Neg', [pads]), ...(axes.length ? [b.scalarLike(0, dy), ...axes] : [])])];
    }
    const { begin, end } = padsOf(g);
    if (mode === 'constant') {
      // Padding by minus the pads cuts the border off (and restores what negative pads cropped).
      return [b.op('Pad', [dy, b.int64s([...begin.map((p) => -p), ...end.map((p) => -p)])])];
    }
    if (mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap') return [g.fail(`mode '${mode}' has no gradient rule`)];
    const shape = b.shape(x)!;
    let dx = dy;
    begin.forEach((p0, axis) => {
      const p1 = end[axis];
      if (p0 === 0 && p1 === 0) return;
      const n = shape[axis];
      if (typeof n !== 'number') return g.fail(`${mode} padding needs a static size on padded axis ${axis} for its gradient`);
      if (p0 < 0 || p1 < 0) g.fail(`${mode} padding with negative pads has no gradient rule`);
      if (mode === 'reflect' && (p0 >= n || p1 >= n)) g.fail('reflect pads must be smaller than the axis');
      // onnxruntime's wrap padding differs from numpy's once a pad exceeds the axis; not followed.
      if (mode === 'wrap' && (p0 > n || p1 > n)) g.fail('wrap pads wider than the axis have no gradient rule');
      dx = mode === 'wrap' ? unwrapAxis(b, dx, axis, n, p0, p1) : unpadAxis(b, dx, axis, n, p0, p1, mode);
    });
    return [dx];
  },
});
