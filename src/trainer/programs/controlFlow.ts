// `If` nodes whose condition is decided by shapes alone. The TorchScript exporter traces Python
// shape checks into `If` nodes (DeBERTa-v2: "are the query and key lengths equal?"), and when the
// branches' outputs differ in rank, shape inference cannot follow. Where the condition is known
// from the shapes (the same symbolic size on both sides, or static numbers), the branch taken is
// inlined; the graph then computes exactly what onnxruntime would have run.

import { Graph, Node } from '../onnx/graph';
import { graphFromProto } from '../onnx/model';
import { ShapeTable } from '../onnx/shapes';

/** Replaces every `If` whose condition the shapes decide by the nodes of its taken branch. */
export function inlineDecidedIfs(graph: Graph, baseDir: string): number {
  let inlined = 0;
  // A branch may hold decided `If`s of its own: repeat until nothing changes.
  for (let round = 0; round < 8; round++) {
    const table = new ShapeTable(graph).inferAll();
    const decided = graph.nodes.filter((n) => n.op === 'If' && n.domain === '' && knownCondition(table, n) !== undefined);
    if (!decided.length) return inlined;
    const replacement = new Map<Node, Node[]>();
    for (const n of decided) replacement.set(n, branchNodes(n, knownCondition(table, n)!, baseDir));
    graph.nodes = graph.nodes.flatMap((n) => replacement.get(n) ?? [n]);
    inlined += decided.length;
  }
  return inlined;
}

function knownCondition(table: ShapeTable, node: Node): boolean | undefined {
  const v = table.get(node.inputs[0])?.value;
  return v && v.length === 1 && typeof v[0] === 'number' ? v[0] !== 0 : undefined;
}

/** The taken branch's nodes, its outputs renamed through Identity nodes to the If's outputs. */
function branchNodes(node: Node, condition: boolean, baseDir: string): Node[] {
  const attr = node.attrs.get(condition ? 'then_branch' : 'else_branch');
  if (!attr || attr.kind !== 'raw' || !attr.value.g) return [node];
  const branch = graphFromProto(attr.value.g, baseDir);
  const nodes: Node[] = [];
  // Constants a branch declares as initializers become Constant nodes of the outer graph.
  for (const [name, t] of branch.initializers) {
    nodes.push({ name: `${node.name}/${name}`, op: 'Constant', domain: '', inputs: [], outputs: [name], attrs: new Map([['value', { kind: 'tensor', value: t }]]) });
  }
  nodes.push(...branch.nodes.map((n) => ({ ...n, name: `${node.name}/${n.name}` })));
  branch.outputs.forEach((o, i) => {
    if (node.outputs[i]) nodes.push({ name: `${node.name}/out${i}`, op: 'Identity', domain: '', inputs: [o.name], outputs: [node.outputs[i]], attrs: new Map() });
  });
  return nodes;
}
