// Gradient rules of pooling: MaxPool (through its Indices output), AveragePool (a depthwise
// ConvTranspose of ones, divided by each window's element count), GlobalAveragePool.

import { attrInt } from '../../onnx/graph';
import { isStatic } from '../../onnx/shapes/dims';
import { fromNumbers } from '../../onnx/tensor';
import { defineRule } from '../registry';
import { convParams, transposedWindow } from './conv';

defineRule('MaxPool', {
  inputs: [0],
  backward: (g) => {
    // Indices are flat over N·C·H·W (storage_order 0): scatter-add dY at them.
    const { b } = g;
    if (attrInt(g.node, 'storage_order', 0) !== 0) g.fail('storage_order 1 is not supported');
    const x = g.x(0);
    const indices = g.output(1);
    const flatZeros = b.reshape(b.zerosLike(x), [-1]);
    const scattered = b.scatterAdd('ScatterElements', flatZeros, b.reshape(indices, [-1]), b.reshape(g.dy()!, [-1]), { axis: 0 });
    return [b.reshapeLike(scattered, x)];
  },
});

defineRule('AveragePool', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const x = g.x(0);
    const dy = g.dy()!;
    const p = convParams(g, false);
    const n = p.kernel.length;
    if (attrInt(g.node, 'ceil_mode', 0) !== 0) g.fail('ceil_mode 1 is not supported for its gradient');
    const channels = b.shape(x)![1];
    if (typeof channels !== 'number') return g.fail('the channel count must be static');
    const window = { kernel_shape: p.kernel, strides: p.strides, pads: p.pads, dilations: p.dilations };
    const ones = b.constant(fromNumbers(b.type(x), [1, 1, ...p.kernel], new Array(p.kernel.reduce((a, k) => a * k, 1)).fill(1)), 'ones_kernel');
    // Elements each output averaged: the kernel size, or only the non-padding ones.
    const padded = p.pads.some((v) => v > 0);
    let divisor: string;
    if (!padded || attrInt(g.node, 'count_include_pad', 0) === 1) {
      divisor = b.scalarLike(p.kernel.reduce((a, k) => a * k, 1), x);
    } else {
      const xs = b.shape(x)!;
      const spatial = xs.slice(2);
      const onesImage = isStatic(spatial)
        ? b.constant(fromNumbers(b.type(x), [1, 1, ...spatial], new Array(spatial.reduce((a, d) => a * d, 1)).fill(1)), 'ones_image')
        : b.op('ConstantOfShape', [b.op('Concat', [b.int64s([1, 1]), b.op('Slice', [b.shapeOf(x), b.int64s([2]), b.int64s([2 + n])])], { axis: 0 })], {
          value: fromNumbers(b.type(x), [1], [1]),
        });
      divisor = b.op('Conv', [onesImage, ones], window);
    }
    const scaled = b.div(dy, divisor);
    const depthwise = b.op('Expand', [ones, b.int64s([channels, 1, ...p.kernel])]);
    return [transposedWindow(b, scaled, depthwise, x, p, channels)];
  },
});

defineRule('GlobalAveragePool', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const x = g.x(0);
    const xs = b.shape(x)!;
    const spatial = xs.slice(2);
    const count = isStatic(spatial)
      ? b.scalarLike(spatial.reduce((a, d) => a * d, 1), x)
      : b.cast(b.op('ReduceProd', [b.op('Slice', [b.shapeOf(x), b.int64s([2]), b.int64s([xs.length])]), b.int64s([0])], { keepdims: 0 }), b.type(x));
    const spread = b.op('Expand', [g.dy()!, isStatic(xs) ? b.int64s(xs) : b.shapeOf(x)]);
    return [b.div(spread, count)];
  },
});
