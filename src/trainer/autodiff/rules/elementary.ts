// Gradient rules of trigonometric and hyperbolic functions and of the smooth and piecewise-linear
// activations PyTorch exports as single operators (Softplus, HardSigmoid, HardSwish).

import { attrFloat } from '../../onnx/graph';
import { GradContext, defineRule } from '../registry';

function unary(op: string, f: (g: GradContext, dy: string) => string) {
  defineRule(op, { inputs: [0], backward: (g) => [f(g, g.dy()!)] });
}

unary('Sin', (g, dy) => g.b.mul(dy, g.b.op('Cos', [g.x(0)])));
unary('Cos', (g, dy) => g.b.neg(g.b.mul(dy, g.b.op('Sin', [g.x(0)]))));
// d tan(x) = 1 + tan²(x), from the output.
unary('Tan', (g, dy) => g.b.mul(dy, g.b.add2(g.b.scalarLike(1, dy), g.b.mul(g.y(0), g.y(0)))));
unary('Sinh', (g, dy) => g.b.mul(dy, g.b.op('Cosh', [g.x(0)])));
unary('Cosh', (g, dy) => g.b.mul(dy, g.b.op('Sinh', [g.x(0)])));
unary('Atan', (g, dy) => g.b.div(dy, g.b.add2(g.b.scalarLike(1, dy), g.b.mul(g.x(0), g.x(0)))));

// softplus(x) = log(1 + eˣ), whose derivative is the logistic sigmoid.
unary('Softplus', (g, dy) => g.b.mul(dy, g.b.op('Sigmoid', [g.x(0)])));

unary('HardSigmoid', (g, dy) => {
  // y = max(0, min(1, αx + β)): slope α strictly inside the ramp, 0 on the flat parts (as torch).
  const { b } = g;
  const alpha = attrFloat(g.node, 'alpha', 0.2);
  const beta = attrFloat(g.node, 'beta', 0.5);
  const t = b.add2(b.mul(g.x(0), b.scalarLike(alpha, dy)), b.scalarLike(beta, dy));
  const inside = b.op('And', [b.op('Greater', [t, b.scalarLike(0, dy)]), b.op('Less', [t, b.scalarLike(1, dy)])]);
  return b.op('Where', [inside, b.mul(dy, b.scalarLike(alpha, dy)), b.scalarLike(0, dy)]);
});

unary('HardSwish', (g, dy) => {
  // y = x·max(0, min(1, x/6 + ½)); torch's derivative: 0 below −3, x/3 + ½ up to 3, 1 above.
  const { b } = g;
  const x = g.x(0);
  const ramp = b.add2(b.div(x, b.scalarLike(3, x)), b.scalarLike(0.5, x));
  const upper = b.op('Where', [b.op('LessOrEqual', [x, b.scalarLike(3, x)]), ramp, b.scalarLike(1, x)]);
  const slope = b.op('Where', [b.op('Less', [x, b.scalarLike(-3, x)]), b.scalarLike(0, x), upper]);
  return b.mul(dy, slope);
});
