// Who produces and who reads each value of a graph, kept current while a pass replaces nodes: the
// row-selection passes (selectedRows.ts, selectedTokens.ts) move a selection up one operator at a
// time and ask, at each step, whether anything else reads a value.

import { Graph, Node, subgraphReads } from '../onnx/graph';

export class NodeIndex {
  readonly producers: Map<string, Node>;
  /** Nodes still in the graph. */
  readonly live: Set<Node>;
  /** Values never replaced: the ones named to keep, graph outputs and values read by subgraphs. */
  readonly held: Set<string>;
  private readonly readersOf = new Map<string, Set<Node>>();

  constructor(private readonly graph: Graph, keep: ReadonlySet<string>) {
    this.held = new Set([...keep, ...graph.outputs.map((o) => o.name), ...graph.nodes.flatMap((n) => [...subgraphReads(n)])]);
    this.producers = graph.producers();
    this.live = new Set(graph.nodes);
    graph.nodes.forEach((n) => this.reads(n));
  }

  /** The nodes reading `v` (a live set: do not hold on to it across edits). */
  readers(v: string): Set<Node> {
    return this.readersOf.get(v) ?? new Set();
  }

  /** Whether something other than `except` reads `v`, or `v` is held. */
  readElsewhere(v: string, except?: Node): boolean {
    return this.held.has(v) || [...this.readers(v)].some((r) => r !== except);
  }

  /** Puts `added` where `old` was in the node list, keeping the rest in order (nothing: removes it). */
  replace(old: Node, added: Node[] = []): void {
    this.live.delete(old);
    this.unreads(old);
    old.outputs.forEach((o) => this.producers.get(o) === old && this.producers.delete(o));
    this.graph.nodes.splice(this.graph.nodes.indexOf(old), 1, ...added);
    this.track(added);
  }

  /** Registers nodes already in the node list (appended by a GraphBuilder). */
  track(nodes: Node[]): void {
    for (const n of nodes) {
      this.live.add(n);
      this.reads(n);
      n.outputs.forEach((o) => this.producers.set(o, n));
    }
  }

  /** Makes `node` read `to` wherever it read `from`. */
  rewire(node: Node, from: string, to: string): void {
    this.unreads(node);
    node.inputs = node.inputs.map((v) => (v === from ? to : v));
    this.reads(node);
  }

  /** Removes what computed a value nothing reads any more (a Reshape's old target shape), and so on up. */
  dropIfUnread(v: string): void {
    const p = this.producers.get(v);
    if (!p || p.outputs.some((o) => o && this.readElsewhere(o))) return;
    this.replace(p);
    new Set(p.inputs).forEach((i) => this.dropIfUnread(i));
  }

  private reads(node: Node) {
    node.inputs.forEach((v) => v && (this.readersOf.get(v) ?? this.readersOf.set(v, new Set()).get(v)!).add(node));
  }

  private unreads(node: Node) {
    node.inputs.forEach((v) => this.readersOf.get(v)?.delete(node));
  }
}
