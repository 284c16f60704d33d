// Gradient rules of broadcasting arithmetic: Add Sub Mul Div Pow Sum Min Max Where.
// Gradients are returned at the output's shape; the engine reduces them to each input.

import { defineRule } from '../registry';

defineRule('Add', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => [g.dy(), g.dy()],
});

defineRule('Sum', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => g.node.inputs.map(() => g.dy()),
});

defineRule('Sub', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => [g.dy(), g.needs(1) ? g.b.neg(g.dy()!) : undefined],
});

defineRule('Mul', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => {
    const dy = g.dy()!;
    return [g.needs(0) ? g.b.mul(dy, g.x(1)) : undefined, g.needs(1) ? g.b.mul(dy, g.x(0)) : undefined];
  },
});

defineRule('Div', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const da = g.needs(0) ? b.div(dy, g.x(1)) : undefined;
    // d(a/b)/db = -(a/b)/b = -y/b
    const db = g.needs(1) ? b.neg(b.div(b.mul(dy, g.y(0)), g.x(1))) : undefined;
    return [da, db];
  },
});

defineRule('Pow', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const [x, p] = [g.x(0), g.x(1)];
    let dx: string | undefined;
    if (g.needs(0)) {
      // p·x^(p−1); for the common constant p = 2 (variances, MSE) that is 2x, without a Pow.
      let deriv: string;
      if (b.constantScalar(p) === 2) deriv = b.mul(x, b.scalarLike(2, x));
      else {
        const pf = b.cast(p, g.type(x));
        deriv = b.mul(pf, b.op('Pow', [x, b.sub(pf, b.scalarLike(1, x))]));
      }
      dx = b.mul(dy, deriv);
    }
    // d(x^p)/dp = x^p · ln x
    const dp = g.needs(1) ? b.mul(dy, b.mul(g.y(0), b.op('Log', [x]))) : undefined;
    return [dx, dp];
  },
});

/** Min and Max send the gradient to the input that was selected; ties share it equally. */
function selectRule(op: 'Min' | 'Max') {
  defineRule(op, {
    inputs: 'all',
    broadcast: true,
    backward: (g) => {
      const { b } = g;
      const dy = g.dy()!;
      const y = g.y(0);
      const n = g.node.inputs.length;
      if (n === 1) return [dy];
      const masks = g.node.inputs.map((x) => b.cast(b.op('Equal', [x, y]), g.type(y)));
      const count = b.op('Sum', masks);
      const share = b.div(dy, count);
      return g.node.inputs.map((_, i) => (g.needs(i) ? b.mul(share, masks[i]) : undefined));
    },
  });
}
selectRule('Min');
selectRule('Max');

defineRule('Where', {
  inputs: [1, 2],
  broadcast: true,
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const zero = b.scalarLike(0, dy);
    return [
      undefined,
      g.needs(1) ? b.op('Where', [g.x(0), dy, zero]) : undefined,
      g.needs(2) ? b.op('Where', [g.x(0), zero, dy]) : undefined,
    ];
  },
});
