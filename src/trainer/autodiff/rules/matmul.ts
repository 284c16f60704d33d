// Gradient rules of MatMul (any rank, numpy broadcasting of batch dims) and Gemm (every
// transA/transB/alpha/beta). Batch broadcasting of MatMul is undone by the central reduction.

import { attrFloat, attrInt } from '../../onnx/graph';
import { GraphBuilder } from '../../onnx/builder';
import { defineRule } from '../registry';

/** Swaps the last two axes. */
function transposeLast(b: GraphBuilder, x: string): string {
  const r = b.rank(x);
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return b.transpose(x, perm);
}

defineRule('MatMul', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => {
    const { b } = g;
    let dy = g.dy()!;
    let a = g.x(0);
    let w = g.x(1);
    const ra = b.rank(a);
    const rw = b.rank(w);
    // Vectors are matrices with a unit axis, as in the forward definition.
    if (ra === 1) {
      a = b.unsqueeze(a, [0]);
      dy = b.unsqueeze(dy, [b.rank(dy) - (rw === 1 ? 0 : 1)]);
    }
    if (rw === 1) {
      w = b.unsqueeze(w, [1]);
      dy = b.unsqueeze(dy, [b.rank(dy)]);
    }
    let da: string | undefined;
    let dw: string | undefined;
    if (g.needs(0)) {
      da = b.op('MatMul', [dy, transposeLast(b, w)]);
      if (ra === 1) da = b.squeeze(da, [b.rank(da) - 2]);
    }
    if (g.needs(1)) {
      const aRank = b.rank(a);
      if (rw <= 2 && aRank > 2) {
        // A weight shared across batch dims: fold them into rows, one big GEMM instead of a
        // batched product followed by a sum.
        // The weight's own dims are static even where a reshape left the activations' symbolic.
        const [wk, wn] = b.shape(w) ?? [];
        const k = typeof wk === 'number' ? wk : b.shape(a)![aRank - 1];
        const n = typeof wn === 'number' ? wn : b.shape(dy)![b.rank(dy) - 1];
        if (typeof k !== 'number' || typeof n !== 'number') return g.fail('a shared weight needs static inner dimensions');
        dw = b.op('MatMul', [transposeLast(b, b.reshape(a, [-1, k])), b.reshape(dy, [-1, n])]);
      } else {
        dw = b.op('MatMul', [transposeLast(b, a), dy]);
      }
      if (rw === 1) dw = b.squeeze(dw, [b.rank(dw) - 1]);
    }
    return [da, dw];
  },
});

defineRule('Gemm', {
  inputs: 'all',
  broadcast: true,
  backward: (g) => {
    // Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A, B' likewise.
    const { b } = g;
    const dy = g.dy()!;
    const alpha = attrFloat(g.node, 'alpha', 1);
    const beta = attrFloat(g.node, 'beta', 1);
    const ta = attrInt(g.node, 'transA', 0);
    const tb = attrInt(g.node, 'transB', 0);
    const [a, w] = [g.x(0), g.x(1)];
    const gemm = (x: string, y: string, transA: number, transB: number) =>
      b.add('Gemm', [x, y], { alpha, transA, transB }, { floats: ['alpha'] })[0];
    let da: string | undefined;
    let dw: string | undefined;
    if (g.needs(0)) {
      da = ta ? gemm(w, dy, tb, 1) : gemm(dy, w, 0, tb ? 0 : 1);
    }
    if (g.needs(1)) {
      dw = tb ? gemm(dy, a, 1, ta) : gemm(a, dy, ta ? 0 : 1, 0);
    }
    let dc: string | undefined;
    if (g.node.inputs[2] && g.needs(2)) dc = beta === 1 ? dy : b.mul(dy, b.scalarLike(beta, dy));
    return [da, dw, dc];
  },
});
