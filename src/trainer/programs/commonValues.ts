// Merges forward nodes that compute the same value, the way onnxruntime's common-subexpression
// elimination would. That pass is off in every session whose step recomputes forward values
// (it would merge the recomputed clones back into the forward pass, trainStep.ts), and then
// repeated computations stay repeated: Hugging Face's BERT-family exports build the additive
// attention mask, [batch, 1, seq, seq], once per layer from the same inputs, and each layer's
// copy was kept until that layer's backward pass (88 MB at 8 × 512 for BERT-base). Run on the
// forward graph before the backward pass is built, so that the merged value has one gradient.

import { Attribute, Graph, Node, subgraphReads } from '../onnx/graph';
import { Tensor, bytesPerElement, sizeOf, toBytes } from '../onnx/tensor';

/**
 * Ops whose two calls on the same inputs are not the same value in training: random draws, and
 * batch norm, whose training form updates running statistics once per call.
 */
const NOT_MERGED = new Set(['Dropout', 'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'BatchNormalization']);

/** Constants compared by value up to this many bytes (an exporter's scalars and small shapes). */
const SMALL_CONSTANT_BYTES = 1024;

/**
 * Reads equal small constants as one, and replaces each node that repeats an earlier node (same
 * op, domain, attributes and inputs) by that node's outputs. Values named in `keep` (what the loss
 * head reads) are never merged away. Returns the number of nodes removed.
 */
export function mergeCommonValues(graph: Graph, keep: ReadonlySet<string>): number {
  // Names a subgraph reads from the outer scope are not renamed inside it, so they stay.
  const named = new Set([...keep, ...graph.outputs.map((o) => o.name), ...graph.nodes.flatMap((n) => [...subgraphReads(n)])]);
  const alias = new Map<string, string>();
  const constantByValue = new Map<string, string>();
  const fed = new Set(graph.inputs.map((v) => v.name));
  for (const [name, t] of graph.initializers) {
    // An initializer that is also a graph input is a default the caller may feed over.
    // Sized from the dims: a derived tensor (fileLimits.ts, derivedCopy) makes its data when read.
    if (sizeOf(t.dims) * bytesPerElement(t.type) > SMALL_CONSTANT_BYTES || fed.has(name) || named.has(name)) continue;
    const key = tensorKey(t);
    const first = constantByValue.get(key);
    if (first === undefined) constantByValue.set(key, name);
    else alias.set(name, first);
  }
  const read = (v: string) => alias.get(v) ?? v;

  const seen = new Map<string, Node>();
  const kept: Node[] = [];
  let removed = 0;
  for (const node of graph.nodes) {
    node.inputs = node.inputs.map(read);
    const key = mergeKey(node);
    const first = key === undefined || node.outputs.some((o) => named.has(o)) ? undefined : seen.get(key);
    if (first && first.outputs.length === node.outputs.length) {
      node.outputs.forEach((o, i) => o && alias.set(o, first.outputs[i]));
      removed++;
      continue;
    }
    if (key !== undefined && !first) seen.set(key, node);
    kept.push(node);
  }
  // A node listed before its producer (the list need not be sorted) reads the merged name too.
  for (const node of kept) node.inputs = node.inputs.map(read);
  graph.nodes = kept;
  const stillRead = new Set(kept.flatMap((n) => n.inputs));
  for (const name of alias.keys()) if (graph.initializers.has(name) && !stillRead.has(name)) graph.initializers.delete(name);
  return removed;
}

/** What makes two nodes the same computation; undefined for nodes never merged. */
function mergeKey(node: Node): string | undefined {
  if (NOT_MERGED.has(node.op) || node.outputs.length === 0) return undefined;
  const parts = [node.domain, node.op, node.inputs.join('\u0001')];
  for (const [name, a] of [...node.attrs].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const value = attributeKey(a);
    if (value === undefined) return undefined;
    parts.push(`${name}=${value}`);
  }
  return parts.join('\u0002');
}

function attributeKey(a: Attribute): string | undefined {
  switch (a.kind) {
    case 'int':
    case 'float':
      return `${a.kind}:${numberKey(a.value)}`;
    case 'ints':
    case 'floats':
      return `${a.kind}:${a.value.map(numberKey).join(',')}`;
    case 'string':
      return `s:${JSON.stringify(a.value)}`;
    case 'strings':
      return `ss:${JSON.stringify(a.value)}`;
    case 'tensor':
      return `t:${tensorKey(a.value)}`;
    case 'raw':
      // Subgraphs and rarer attributes: not compared, so the node is never merged.
      return undefined;
  }
}

/** -0 and 0 differ as attributes (a Constant's value, a Pad's fill). */
const numberKey = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

function tensorKey(t: Tensor): string {
  const bytes = toBytes(t.data);
  return `${t.type}|${t.dims.join(',')}|${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}
