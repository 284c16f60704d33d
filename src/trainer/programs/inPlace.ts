// Which of a program's updated tensors onnxruntime may write over the tensor they replace.
//
// The optimizer program reads a parameter and its moments and outputs their new values; the train
// step does the same for batch-norm statistics, and with gradient accumulation for the running
// gradient sums. If each output goes to a fresh buffer, that state exists twice during a run,
// which for a 66M-parameter model is 800 MB per copy. PyTorch updates in place; so can we, by
// passing the state's own buffer as the preallocated output (a fetch) — but only where the graph
// guarantees that nothing reads the old value after the new one starts being written. The rule,
// checked on the compiled graph:
//
// - the output is written by the node that produces it, after an Identity possibly removed by
//   onnxruntime: call that node the writer (the Identity's producer when the output comes through
//   one, else the output's own producer);
// - every other node that reads the input is an ancestor of the writer, so it has run before the
//   writer starts (onnxruntime runs a node only after all its inputs exist, and its graph
//   rewrites keep those dependencies);
// - if the writer reads the input itself, it is elementwise, so element i is read before element
//   i is written and no other element depends on it;
// - the input is not itself a graph output, and no subgraph reads it.

import { Graph, Node, subgraphReads } from '../onnx/graph';

export interface InPlacePair {
  /** The graph input holding the current value. */
  input: string;
  /** The graph output holding the new value, written over the input's buffer. */
  output: string;
}

/** Ops whose output element i depends only on the inputs' element i (no reordering). */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Where', 'Neg', 'Sqrt', 'Max', 'Min', 'Identity', 'Cast', 'Clip']);

/**
 * Lets the nodes that compute `outputs` write them directly: an output written as Identity(x) is
 * renamed so that x's producer writes it (its other readers read it under the new name) and the
 * Identity goes. onnxruntime keeps an Identity into a graph output and copies through it: the
 * optimizer program's new parameters and moments (126 copies in a ResNet-18 step), the train
 * step's gradients (3.7 ms per ResNet-18 64² step; DistilBERT-base's peak 2045 → 1990 MB once
 * the schedule was kept, trainStep.ts).
 */
export function writeOutputsDirectly(graph: Graph, outputs: Set<string>, reshapable: Set<string> = new Set()): void {
  const producers = graph.producers();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const fed = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  const renamed = new Map<string, string>();
  const dropped = new Set<Node>();
  for (const node of graph.nodes) {
    const [x] = node.inputs;
    const [out] = node.outputs;
    if (node.op !== 'Identity' || !outputs.has(out) || fed.has(x) || graphOutputs.has(x) || !producers.has(x) || renamed.has(x)) continue;
    renamed.set(x, out);
    const info = graph.valueInfo.get(x);
    if (info) graph.valueInfo.set(out, { ...info, name: out });
    dropped.add(node);
  }
  // One pass over the graph for all renames: a pass per output would cost the compile of a
  // 12-layer model hundreds of full scans.
  const rename = (v: string) => renamed.get(v) ?? v;
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
  for (const n of graph.nodes) {
    n.inputs = n.inputs.map(rename);
    n.outputs = n.outputs.map(rename);
  }
  writeBeforeReshape(graph, reshapable);
}

/**
 * An output of `reshapable` made by Reshape(x) is written by x's producer instead, in x's shape
 * (the caller gives it its shape back: the bytes are the same). onnxruntime copies into a graph
 * output even through a Reshape, which is otherwise a view: ResNet-18 64²'s weight gradients of
 * its small-image Convs, [O, C·K] products reshaped to [O, C, Kh, Kw], took 0.6 ms each at 512
 * channels. The Reshape stays, now a view of the output, where other nodes read its result (the
 * clipping norm's square). Only where x is read by that Reshape alone and is computed in the graph.
 */
function writeBeforeReshape(graph: Graph, reshapable: Set<string>): void {
  if (!reshapable.size) return;
  const producers = graph.producers();
  const consumers = graph.consumers();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  // Names a subgraph reads from outside: renaming those would break the subgraph.
  const hidden = new Set<string>();
  for (const n of graph.nodes) for (const name of subgraphReads(n)) hidden.add(name);
  const dropped = new Set<Node>();
  for (const out of graph.outputs) {
    const reshape = producers.get(out.name);
    if (!reshapable.has(out.name) || reshape?.op !== 'Reshape' || reshape.domain !== '') continue;
    const x = reshape.inputs[0];
    const writer = producers.get(x);
    if (!writer || graphOutputs.has(x) || hidden.has(x) || hidden.has(out.name) || (consumers.get(x) ?? []).length !== 1) continue;
    writer.outputs = writer.outputs.map((o) => (o === x ? out.name : o));
    const info = graph.valueInfo.get(x);
    out.shape = info?.shape ? [...info.shape] : undefined;
    if (info) graph.valueInfo.set(out.name, { ...info, name: out.name });
    const readers = consumers.get(out.name) ?? [];
    if (!readers.length) {
      dropped.add(reshape);
      continue;
    }
    const view = `${out.name}/shaped`;
    reshape.inputs = [out.name, ...reshape.inputs.slice(1)];
    reshape.outputs = [view];
    for (const n of readers) n.inputs = n.inputs.map((i) => (i === out.name ? view : i));
  }
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
}

/** The pairs among `candidates` that are safe to alias under the rule above. */
export function inPlacePairs(graph: Graph, candidates: InPlacePair[]): InPlacePair[] {
  const index = new Map<Node, number>(graph.nodes.map((n, i) => [n, i]));
  const producers = graph.producers();
  const consumers = graph.consumers();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const hidden = new Set<string>();
  for (const n of graph.nodes) for (const name of subgraphReads(n)) hidden.add(name);

  /** Whether every node of `wanted` is an ancestor of `node` (a backward walk that stops once all are found). */
  const allAncestors = (node: Node, wanted: Set<Node>): boolean => {
    const limit = index.get(node)!;
    // A node later in topological order cannot be an ancestor.
    for (const w of wanted) if (index.get(w)! >= limit) return false;
    const left = new Set(wanted);
    const seen = new Set<Node>([node]);
    const stack = [node];
    while (stack.length && left.size) {
      const n = stack.pop()!;
      for (const i of n.inputs) {
        const p = i ? producers.get(i) : undefined;
        if (!p || seen.has(p)) continue;
        seen.add(p);
        left.delete(p);
        stack.push(p);
      }
    }
    return left.size === 0;
  };

  return candidates.filter(({ input, output }) => {
    if (graphOutputs.has(input) || hidden.has(input)) return false;
    let writer = producers.get(output);
    if (!writer) return false;
    if (writer.op === 'Identity' && writer.inputs[0] !== input) writer = producers.get(writer.inputs[0]) ?? writer;
    const readers = consumers.get(input) ?? [];
    if (readers.includes(writer) && !ELEMENTWISE.has(writer.op)) return false;
    return allAncestors(writer, new Set(readers.filter((r) => r !== writer)));
  });
}
