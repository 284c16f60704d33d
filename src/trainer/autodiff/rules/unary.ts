// Gradient rules of elementwise functions and activations. Where the derivative is cheapest in
// terms of the output (exp, tanh, sigmoid, sqrt, softmax) the rule reuses the forward output.

import { attrFloat, attrInt, attrString } from '../../onnx/graph';
import { DataType, isFullPrecisionFloat } from '../../onnx/tensor';
import { GradContext, defineRule } from '../registry';

type Unary = (g: GradContext, dy: string) => string;

function unary(op: string, f: Unary) {
  defineRule(op, { inputs: [0], backward: (g) => [f(g, g.dy()!)] });
}

unary('Identity', (_g, dy) => dy);
unary('Neg', (g, dy) => g.b.neg(dy));
unary('Exp', (g, dy) => g.b.mul(dy, g.y(0)));
unary('Log', (g, dy) => g.b.div(dy, g.x(0)));
unary('Sqrt', (g, dy) => g.b.div(dy, g.b.mul(g.y(0), g.b.scalarLike(2, dy))));
unary('Reciprocal', (g, dy) => g.b.neg(g.b.mul(dy, g.b.mul(g.y(0), g.y(0)))));
unary('Tanh', (g, dy) => {
  const { b } = g;
  const y = g.y(0);
  return b.mul(dy, b.sub(b.scalarLike(1, y), b.mul(y, y)));
});
unary('Sigmoid', (g, dy) => {
  const { b } = g;
  const y = g.y(0);
  return b.mul(dy, b.mul(y, b.sub(b.scalarLike(1, y), y)));
});
/**
 * (y > 0) as float32 ones and zeros in one pass over y = Relu(x) ≥ 0: HardSigmoid clamps
 * y·FLT_MAX to [0, 1], 1 from y ≥ 1/FLT_MAX ≈ 2.9e-39 (every normal float, and +∞), 0 at 0.
 * onnxruntime runs HardSigmoid on all threads, and Cast on one: at [32, 64, 112, 112], dy times
 * the mask took 9.7 ms against 13.7 ms for Greater, Cast and Mul (isolated; ResNet-18 224²'s
 * Casts took 23 ms per step). The differences: a subnormal y under 2.9e-39 scales its gradient
 * by y·FLT_MAX < 1 where Greater gives 1 (a batch-norm output landing there needs operands under
 * ~1e-31); at a NaN y the mask is NaN where Greater gave 0 (PyTorch passes dy there), and a NaN
 * activation has made the loss NaN, which stops or skips the step either way.
 */
const FLOAT32_MAX = 3.4028234663852886e38;
function positiveMask(b: GradContext['b'], y: string): string {
  return b.op('HardSigmoid', [y], { alpha: FLOAT32_MAX, beta: 0 }, ['alpha', 'beta']);
}

unary('Relu', (g, dy) => {
  const { b } = g;
  const y = g.y(0);
  // In float32 and float64, dy · (y > 0) as a product with the mask in dy's type: onnxruntime's
  // Where with a scalar branch took 6.7 ms per 6.4M elements against 3.9 ms for Cast and Mul
  // (ResNet-18 224²'s layer 1, batch 32; about 25 ms per 224² step), and float32's mask is now one
  // HardSigmoid (positiveMask). The values are PyTorch's wherever dy is finite (a masked element
  // is −0 where dy < 0, which no sum or product downstream tells from 0). Where dy is ±∞ or NaN
  // at a masked element the product is NaN and PyTorch's 0: only a backward pass that overflowed
  // float32 gets there, and its NaN then stops the run (nan_policy: stop) or skips the step where
  // PyTorch might have gone on.
  if (b.type(dy) === DataType.FLOAT) return b.mul(dy, positiveMask(b, y));
  const positive = b.op('Greater', [y, b.scalarLike(0, dy)]);
  // In half precision, where fp16's overflows are routine (GradScaler's business), PyTorch's
  // form: 0 at a masked element even where dy is infinite.
  if (!isFullPrecisionFloat(b.type(dy))) return b.op('Where', [positive, dy, b.scalarLike(0, dy)]);
  return b.mul(dy, b.cast(positive, b.type(dy)));
});
unary('LeakyRelu', (g, dy) => {
  const { b } = g;
  const alpha = attrFloat(g.node, 'alpha', 0.01);
  return b.op('Where', [b.op('Greater', [g.x(0), b.scalarLike(0, dy)]), dy, b.mul(dy, b.scalarLike(alpha, dy))]);
});
unary('Abs', (g, dy) => g.b.mul(dy, g.b.op('Sign', [g.x(0)])));
unary('Erf', (g, dy) => {
  // d erf(x)/dx = 2/√π · exp(−x²)
  const { b } = g;
  const x = g.x(0);
  return b.mul(dy, b.mul(b.scalarLike(2 / Math.sqrt(Math.PI), x), b.op('Exp', [b.neg(b.mul(x, x))])));
});
unary('Gelu', (g, dy) => {
  const { b } = g;
  const x = g.x(0);
  const c = (v: number) => b.scalarLike(v, x);
  if (attrString(g.node, 'approximate', 'none') === 'tanh') {
    // y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
    const k = Math.sqrt(2 / Math.PI);
    const x2 = b.mul(x, x);
    const u = b.mul(c(k), b.mul(x, b.add2(c(1), b.mul(c(0.044715), x2))));
    const t = b.op('Tanh', [u]);
    const du = b.mul(c(k), b.add2(c(1), b.mul(c(3 * 0.044715), x2)));
    const sech2 = b.sub(c(1), b.mul(t, t));
    const d = b.add2(b.mul(c(0.5), b.add2(c(1), t)), b.mul(b.mul(c(0.5), x), b.mul(sech2, du)));
    return b.mul(dy, d);
  }
  // y = ½x(1 + erf(x/√2)) → ½(1 + erf(x/√2)) + x·φ(x)
  const cdf = b.mul(c(0.5), b.add2(c(1), b.op('Erf', [b.mul(x, c(Math.SQRT1_2))])));
  const pdf = b.mul(c(1 / Math.sqrt(2 * Math.PI)), b.op('Exp', [b.mul(c(-0.5), b.mul(x, x))]));
  return b.mul(dy, b.add2(cdf, b.mul(x, pdf)));
});

defineRule('Softmax', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const y = g.y(0);
    const axis = attrInt(g.node, 'axis', -1);
    const s = b.op('ReduceSum', [b.mul(dy, y), b.int64s([axis])], { keepdims: 1 });
    return [b.mul(y, b.sub(dy, s))];
  },
});

defineRule('LogSoftmax', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const axis = attrInt(g.node, 'axis', -1);
    const s = b.op('ReduceSum', [dy, b.int64s([axis])], { keepdims: 1 });
    return [b.sub(dy, b.mul(b.op('Exp', [g.y(0)]), s))];
  },
});

defineRule('Clip', {
  inputs: [0],
  backward: (g) => {
    // As torch.clamp: the gradient passes where min ≤ x ≤ max.
    const { b } = g;
    const dy = g.dy()!;
    const x = g.x(0);
    let pass: string | undefined;
    const and = (m: string) => (pass = pass ? b.op('And', [pass, m]) : m);
    if (g.node.inputs[1]) and(b.op('GreaterOrEqual', [x, g.x(1)]));
    if (g.node.inputs[2]) and(b.op('LessOrEqual', [x, g.x(2)]));
    return [pass ? b.op('Where', [pass, dy, b.scalarLike(0, dy)]) : dy];
  },
});

defineRule('Cast', {
  inputs: [0],
  backward: (g) => {
    // Only float-to-float casts are on gradient paths (others produce non-float values).
    const from = g.type(g.x(0));
    return [from === DataType.BOOL ? undefined : g.b.cast(g.dy()!, from)];
  },
});

defineRule('CastLike', {
  inputs: [0],
  // The gradient goes back to x's own type; the target only lends its type.
  backward: (g) => [g.b.cast(g.dy()!, g.type(g.x(0)))],
});

defineRule('Dropout', {
  inputs: [0],
  backward: (g) => {
    // Outside training mode Dropout is the identity. In training mode the gradient is the
    // forward mask scaled by 1/(1−ratio). (Compiled train steps replace Dropout by Trainer's own
    // seeded mask before autodiff; this rule serves graphs that keep the operator.)
    const { b } = g;
    const dy = g.dy()!;
    const training = g.node.inputs[2] ? b.constantScalar(g.x(2)) : 0;
    if (training === 0 || training === undefined) {
      if (training === undefined) g.fail('its training_mode input must be a constant for its gradient');
      return [dy];
    }
    const ratio = g.node.inputs[1] ? b.constantScalar(g.x(1)) : 0.5;
    if (ratio === undefined) return g.fail('its ratio input must be a constant for its gradient');
    const mask = b.cast(g.output(1), g.type(dy));
    return [b.mul(dy, b.mul(mask, b.scalarLike(1 / (1 - ratio), dy)))];
  },
});
