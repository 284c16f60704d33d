// The gradient of a weight the model reads twice — an LM head tied to the token embedding, which
// the exporters write as the embedding [V, H] and a transposed copy [H, V] that `model.tie_identical`
// trains as the one tensor — without full-size temporaries. The backward pass makes it as
//
//   Add(Transpose(MatMul(Transpose(x), dy)), ScatterND(zeros [V, H], ids, rows, reduction=add))
//
// that is four [V, H] values (the head's product, its transpose, the zeros, the sum): 545 MB each
// for Qwen2.5-0.5B's vocabulary, alive together at the backward pass's start, where the
// activations are. Rewritten here, in the backward pass only (the forward's bits stay as exported),
// to two, the product and the sum written over it:
//
//   ScatterND(Gemm(dy, x, transA=1), ids, rows, reduction=add)
//
// - Transpose(MatMul(P, Q)) of 2-D operands is Gemm(Q, P, transA=1, transB=1), a product that
//   writes the transposed result directly (onnxruntime's Gemm reads either operand transposed as
//   it lies); a transposed P is read untransposed instead.
// - Add(D, ScatterND(zeros, I, U, add)) is ScatterND(D, I, U, add): the same sum, with each
//   scattered row added to D's row instead of to zero first (rounding may differ in the last bit).
// Each applies only where the replaced value has no other reader.

import { Node, attrInts, attrString, attrs, dropUnread } from '../onnx/graph';
import { GraphBuilder } from '../onnx/builder';
import { Tensor } from '../onnx/tensor';

/** Rewrites the nodes from `start` on (the backward pass); returns how many patterns it replaced. */
export function denseTiedGradients(b: GraphBuilder, start: number): number {
  const graph = b.graph;
  const producers = graph.producers();
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const readOnce = (v: string) => readers.get(v) === 1 && !outputs.has(v);
  const rank2 = (v: string) => b.shapes.get(v)?.shape?.length === 2;
  const replaced = new Set<Node>();
  const replacements = new Map<Node, Node>();
  // What fed only the replaced nodes (the inner transpose, the zeros and their shape), dropped if unread.
  const backward = new Set(graph.nodes.slice(start));
  const upstream = new Set<Node>();
  const feeding = (v: string) => {
    const n = producers.get(v);
    if (n && backward.has(n)) upstream.add(n);
    return n;
  };
  let count = 0;

  for (const node of backward) {
    if (node.op === 'Transpose' && isSwap(node)) {
      const product = producers.get(node.inputs[0]);
      if (!product || product.op !== 'MatMul' || !readOnce(node.inputs[0]) || replaced.has(product)) continue;
      const [p, q] = product.inputs;
      if (!rank2(p) || !rank2(q)) continue;
      // (P·Q)ᵀ = Qᵀ·Pᵀ; where P is xᵀ, Pᵀ is x itself.
      const inner = producers.get(p);
      const pTransposed = inner?.op === 'Transpose' && isSwap(inner) && rank2(inner.inputs[0]);
      const gemm: Node = {
        name: b.fresh('tied_gemm'), op: 'Gemm', domain: '', inputs: [q, pTransposed ? inner!.inputs[0] : p], outputs: [node.outputs[0]],
        attrs: attrs({ transA: 1, transB: pTransposed ? 0 : 1 }),
      };
      if (pTransposed) feeding(p);
      replacements.set(node, gemm);
      replaced.add(product);
      count++;
    } else if (node.op === 'Add') {
      for (const k of [0, 1]) {
        const scatter = producers.get(node.inputs[k]);
        const dense = node.inputs[1 - k];
        if (!scatter || scatter.op !== 'ScatterND' || attrString(scatter, 'reduction', 'none') !== 'add' || !readOnce(node.inputs[k])) continue;
        if (!isZeros(producers.get(scatter.inputs[0])) || !sameStaticShape(b, dense, node.outputs[0])) continue;
        replacements.set(node, { ...scatter, name: b.fresh('tied_scatter'), inputs: [dense, scatter.inputs[1], scatter.inputs[2]], outputs: [node.outputs[0]] });
        replaced.add(scatter);
        const zeros = feeding(scatter.inputs[0])!;
        for (const i of zeros.inputs) feeding(i);
        count++;
        break;
      }
    }
  }
  if (!count) return 0;
  // Each replacement takes its node's place (its operands are all made before it); the replaced
  // producers and the zeros they read are dropped once nothing reads them.
  const nodes = graph.nodes.filter((n) => !replaced.has(n)).map((n) => replacements.get(n) ?? n);
  graph.nodes = dropUnread(nodes, upstream, outputs);
  return count;
}

function isSwap(node: Node): boolean {
  const perm = attrInts(node, 'perm');
  return perm !== undefined && perm.length === 2 && perm[0] === 1 && perm[1] === 0;
}

/** A ConstantOfShape of zeros (its value 0, or no value: the spec's default is a float 0). */
function isZeros(node: Node | undefined): boolean {
  if (!node || node.op !== 'ConstantOfShape') return false;
  const a = node.attrs.get('value');
  const value = a?.kind === 'tensor' ? (a.value as Tensor) : undefined;
  return !a || (!!value && Array.from(value.data as ArrayLike<number | bigint>).every((x) => Number(x) === 0));
}

function sameStaticShape(b: GraphBuilder, x: string, y: string): boolean {
  const s = b.shapes.get(x)?.shape;
  const t = b.shapes.get(y)?.shape;
  return !!s && !!t && s.length === t.length && s.every((d, i) => typeof d === 'number' && d === t[i]);
}
