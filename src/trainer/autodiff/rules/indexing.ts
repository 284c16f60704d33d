// Gradient rules of N-dimensional indexing and masking: GatherND (a scatter-add back onto zeros),
// ScatterND (the scattered positions' gradient goes to the updates), Trilu (the same mask).

import { GraphBuilder } from '../../onnx/builder';
import { attrInt, attrString } from '../../onnx/graph';
import { DataType } from '../../onnx/tensor';
import { defineRule } from '../registry';

/** Shape(x)[from:] as an int64 vector. */
function shapeFrom(b: GraphBuilder, x: string, from: number): string {
  return b.op('Slice', [b.shapeOf(x), b.int64s([from]), b.int64s([b.rank(x)])]);
}

/** x reshaped to [-1, ...x.shape[from:]]: its first `from` axes merged into one. */
function mergeLeading(b: GraphBuilder, x: string, from: number): string {
  if (from === 1) return x;
  return b.reshape(x, b.op('Concat', [b.int64s([-1]), shapeFrom(b, x, from)], { axis: 0 }));
}

defineRule('GatherND', {
  inputs: [0],
  backward: (g) => {
    // Each gathered slice's gradient is added back where it came from: repeated index tuples
    // (the same token picked twice) add up, as in torch's index backward.
    const { b } = g;
    const data = g.x(0);
    const batch = attrInt(g.node, 'batch_dims', 0);
    let idx = b.cast(g.x(1), DataType.INT64);
    const k = b.shape(idx)?.at(-1);
    if (typeof k !== 'number') return g.fail('the last axis of its indices must have a static size for its gradient');
    // Negative indices count from the end of their axis.
    const dims = b.op('Slice', [b.shapeOf(data), b.int64s([batch]), b.int64s([batch + k])]);
    idx = b.op('Where', [b.op('Less', [idx, b.scalar(0, DataType.INT64)]), b.add2(idx, dims), idx]);
    if (batch === 0) return [b.scatterAdd('ScatterND', b.zerosLike(data), idx, g.dy()!)];
    // ScatterND has no batch_dims: merge the batch axes into one and prefix each index tuple with
    // its batch position.
    const flatIdx = mergeLeading(b, idx, batch);
    const idxShape = b.shapeOf(flatIdx);
    const count = b.squeeze(b.op('Slice', [idxShape, b.int64s([0]), b.int64s([1])]), [0]);
    const positions = b.op('Range', [b.scalar(0, DataType.INT64), count, b.scalar(1, DataType.INT64)]);
    const rank = b.rank(flatIdx);
    const column = b.reshape(positions, [-1, ...new Array<number>(rank - 1).fill(1)]);
    const columnShape = b.op('Concat', [b.op('Slice', [idxShape, b.int64s([0]), b.int64s([-1])]), b.int64s([1])], { axis: 0 });
    const tuples = b.op('Concat', [b.op('Expand', [column, columnShape]), flatIdx], { axis: -1 });
    const sum = b.scatterAdd('ScatterND', mergeLeading(b, b.zerosLike(data), batch), tuples, mergeLeading(b, g.dy()!, batch));
    return [b.reshapeLike(sum, data)];
  },
});

defineRule('ScatterND', {
  inputs: [0, 2],
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const idx = g.x(1);
    const reduction = attrString(g.node, 'reduction', 'none');
    if (reduction !== 'none' && reduction !== 'add') g.fail(`reduction '${reduction}' has no gradient rule`);
    // Overwritten positions of data do not reach the output; added ones pass dy through.
    let ddata: string | undefined;
    if (g.needs(0)) ddata = reduction === 'add' ? dy : b.op('ScatterND', [dy, idx, b.zerosLike(g.x(2))]);
    const dupdates = g.needs(2) ? b.op('GatherND', [dy, idx]) : undefined;
    return [ddata, undefined, dupdates];
  },
});

defineRule('Trilu', {
  inputs: [0],
  // Trilu multiplies by a fixed triangular mask, so its gradient is the same mask.
  backward: (g) => [g.b.op('Trilu', g.node.inputs[1] ? [g.dy()!, g.x(1)] : [g.dy()!], { upper: attrInt(g.node, 'upper', 1) })],
});
