// Gradient rule of Einsum: the gradient of operand i is itself an Einsum, of the output gradient
// with the other operands, written to operand i's subscripts. Letters that only operand i has (it
// summed them away alone) are absent from that product; the result is broadcast back over them.

import { attrString } from '../../onnx/graph';
import { isStatic } from '../../onnx/shapes/dims';
import { parseEinsum } from '../../onnx/shapes/einsum';
import { defineRule } from '../registry';

defineRule('Einsum', {
  inputs: 'all',
  // Ellipsis dims of size 1 broadcast like any other operator's; the engine sums them back.
  broadcast: true,
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const operands = g.node.inputs;
    const terms = parseEinsum(attrString(g.node, 'equation', ''), operands.map((x) => g.rank(x)));
    return operands.map((x, i) => {
      if (!g.needs(i)) return undefined;
      const own = terms.inputs[i];
      if (new Set(own).size !== own.length) g.fail(`operand ${i} repeats a subscript (a diagonal), which has no gradient rule`);
      const others = terms.inputs.filter((_, k) => k !== i);
      const available = new Set([...terms.output, ...others.join('')]);
      const reachable = [...own].filter((ch) => available.has(ch)).join('');
      const partial = b.op('Einsum', [dy, ...operands.filter((_, k) => k !== i)], {
        equation: `${[terms.output, ...others].join(',')}->${reachable}`,
      });
      if (reachable === own) return partial;
      // Put the missing letters back as unit axes, then broadcast to the operand's shape.
      const missing = [...own].map((ch, k) => (available.has(ch) ? -1 : k)).filter((k) => k >= 0);
      const shape = b.shape(x);
      return b.op('Expand', [b.unsqueeze(partial, missing), isStatic(shape) ? b.int64s(shape) : b.shapeOf(x)]);
    });
  },
});
