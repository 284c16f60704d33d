// Recognises the attention softmax as Hugging Face's models export it —
// Where(IsNaN(Softmax(x)), 0, Softmax(x)), which turns a fully masked row's NaNs into zeros — and
// makes it one NanSafeSoftmax composite (autodiff/composites.ts) for the backward pass, whose rule
// keeps only the guarded result: the softmax itself and its NaN mask, each as large as the
// attention scores ([batch, heads, sequence, sequence]), are freed after the forward pass.

import { compositeNode } from '../autodiff/composites';
import { Graph, Node } from '../onnx/graph';
import { DataType, elementValue } from '../onnx/tensor';

/** Replaces each guarded softmax by a NanSafeSoftmax node and returns how many it replaced. */
export function formNanSafeSoftmax(graph: Graph, facts: (name: string) => { type: DataType; shape?: (number | string)[] } | undefined): number {
  const producers = graph.producers();
  const consumers = graph.consumers();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const isZero = (name: string) => {
    const t = graph.initializers.get(name);
    return !!t && t.data.length === 1 && elementValue(t, 0) === 0;
  };
  const drop = new Set<Node>();
  const replace = new Map<Node, Node>();
  for (const where of graph.nodes) {
    if (where.op !== 'Where' || where.domain !== '') continue;
    const [mask, zero, s] = where.inputs;
    const isNaN = producers.get(mask);
    const softmax = producers.get(s);
    if (!isNaN || isNaN.op !== 'IsNaN' || isNaN.domain !== '' || isNaN.inputs[0] !== s) continue;
    if (!softmax || softmax.op !== 'Softmax' || softmax.domain !== '' || !isZero(zero)) continue;
    const readers = (v: string) => new Set(consumers.get(v) ?? []);
    const sReaders = readers(s);
    if (sReaders.size !== 2 || !sReaders.has(isNaN) || !sReaders.has(where) || graphOutputs.has(s)) continue;
    if ((consumers.get(mask) ?? []).length !== 1 || graphOutputs.has(mask)) continue;
    const out = facts(where.outputs[0]);
    if (!out) continue;
    drop.add(softmax);
    drop.add(isNaN);
    const axis = softmax.attrs.get('axis') ?? { kind: 'int' as const, value: -1 };
    replace.set(where, compositeNode(graph, 'NanSafeSoftmax', where.name, [softmax.inputs[0], zero],
      [{ name: where.outputs[0], type: out.type, shape: out.shape }], new Map([['axis', axis]])));
  }
  graph.nodes = graph.nodes.filter((n) => !drop.has(n)).map((n) => replace.get(n) ?? n);
  return replace.size;
}
