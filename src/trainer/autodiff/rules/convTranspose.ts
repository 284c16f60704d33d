// Gradient rule of ConvTranspose, the adjoint of Conv: its input gradient is a Conv of dY with
// the same weight, strides, pads, dilations and groups, and its weight gradient is Conv's weight
// gradient with the input and the output gradient trading places.

import { attrInt, attrString } from '../../onnx/graph';
import { defineRule } from '../registry';
import { convParams, weightGradient } from './conv';

defineRule('ConvTranspose', {
  inputs: 'all',
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const [x, w] = [g.x(0), g.x(1)];
    if (g.node.attrs.has('output_shape')) g.fail('output_shape is not supported for its gradient (give pads and output_padding)');
    const autoPad = attrString(g.node, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') g.fail(`auto_pad ${autoPad} is not supported for its gradient`);
    const group = attrInt(g.node, 'group', 1);
    const p = convParams(g, true);
    const n = p.kernel.length;
    // ConvTranspose's output_padding only adds trailing positions no input reached; the Conv
    // below never lands a window on them, so its output has x's size.
    const dx = g.needs(0)
      ? b.op('Conv', [dy, w], { kernel_shape: p.kernel, strides: p.strides, pads: p.pads, dilations: p.dilations, group })
      : undefined;
    const dw = g.needs(1) ? weightGradient(g, dy, x, p, group) : undefined;
    const db = g.node.inputs[2] && g.needs(2) ? b.reduceSum(dy, [0, ...Array.from({ length: n }, (_, i) => i + 2)], false) : undefined;
    return [dx, dw, db];
  },
});
