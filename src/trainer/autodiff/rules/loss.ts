// Gradient rule of SoftmaxCrossEntropyLoss, the operator the cross-entropy loss head emits (and
// PyTorch exports for F.cross_entropy): d scores = (softmax − onehot) · w_label / Σw, fused.

import { attrInt, attrString } from '../../onnx/graph';
import { DataType, fromNumbers } from '../../onnx/tensor';
import { defineRule } from '../registry';

defineRule('SoftmaxCrossEntropyLoss', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const scores = g.x(0);
    const labels = g.x(1);
    const dloss = g.dy(0);
    const reduction = attrString(g.node, 'reduction', 'mean');
    const ignore = g.node.attrs.has('ignore_index') ? attrInt(g.node, 'ignore_index', -100) : undefined;
    const type = g.type(scores);
    const prob = b.op('Exp', [g.output(1)]);
    // Ignored targets get weight 0 and a harmless class 0 for the one-hot and the weight lookup.
    const ignored = ignore === undefined ? undefined : b.op('Equal', [labels, b.scalar(ignore, DataType.INT64)]);
    const safe = ignored ? b.op('Where', [ignored, b.scalar(0, DataType.INT64), labels]) : labels;
    // One-hot as labels == class id (OneHot has no float64 kernel on the CPU provider).
    const rank = g.rank(scores);
    const classes = b.op('Squeeze', [b.op('Gather', [b.shapeOf(scores), b.int64s([1])], { axis: 0 }), b.int64s([0])]);
    const ids = b.op('Range', [b.scalar(0, DataType.INT64), classes, b.scalar(1, DataType.INT64)]);
    const idsShaped = b.unsqueeze(ids, [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]);
    const onehot = b.cast(b.op('Equal', [b.unsqueeze(safe, [1]), idsShaped]), type);
    let weight: string = g.node.inputs[2] ? b.op('Gather', [g.x(2), safe], { axis: 0 }) : b.op('ConstantOfShape', [b.shapeOf(labels)], { value: fromNumbers(type, [1], [1]) });
    if (ignored) weight = b.op('Where', [ignored, b.scalarLike(0, weight), weight]);
    // 'mean' divides by the total weight; 'sum' and 'none' scale by each target's weight alone.
    const share = reduction === 'mean' ? b.div(weight, b.op('ReduceSum', [weight], { keepdims: 0 })) : weight;
    let dscores: string | undefined;
    if (dloss) dscores = b.mul(b.sub(prob, onehot), b.unsqueeze(b.mul(share, dloss), [1]));
    // The log_prob output (label smoothing reads it) back-propagates as a LogSoftmax does.
    const dlog = g.dy(1);
    if (dlog) {
      const viaLog = b.sub(dlog, b.mul(prob, b.op('ReduceSum', [dlog, b.int64s([1])], { keepdims: 1 })));
      dscores = dscores ? b.add2(dscores, viaLog) : viaLog;
    }
    return [dscores];
  },
});
