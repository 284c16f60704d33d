// The engine's in-memory graph: a plain, mutable form of an ONNX GraphProto that passes
// (opset upgrade, train/eval lowering, autodiff) edit before it is written back to protobuf.

import type { onnx } from './generated/onnx';
import { DataType, Tensor } from './tensor';

/** A dimension: a number when known statically, otherwise a symbol such as "batch" or "N*S". */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  type: DataType;
  /** undefined when even the rank is unknown */
  shape?: Dim[];
}

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: Tensor }
  /** Subgraphs and other rarely used attributes are carried through untouched. */
  | { kind: 'raw'; value: onnx.IAttributeProto };

export interface Node {
  name: string;
  op: string;
  domain: string;
  /** '' marks an omitted optional input or output, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, Attribute>;
  /**
   * The node's metadata_props, kept because the dynamo exporter records each node's module
   * scope there (`pkg.torch.onnx.name_scopes`), which LoRA needs to find its target modules.
   */
  metadata?: Map<string, string>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export class Graph {
  name = 'graph';
  nodes: Node[] = [];
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  initializers = new Map<string, Tensor>();
  /** Shape hints read from the model's value_info; inference prefers what it can prove. */
  valueInfo = new Map<string, ValueInfo>();
  /** Version of the default ("" / "ai.onnx") domain. */
  opset = 0;
  otherOpsets: OpsetImport[] = [];

  /** A shallow copy whose node, input and output lists can be edited independently. */
  clone(): Graph {
    const g = new Graph();
    g.name = this.name;
    g.nodes = this.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: new Map(n.attrs) }));
    g.inputs = this.inputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] }));
    g.outputs = this.outputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] }));
    g.initializers = new Map(this.initializers);
    g.valueInfo = new Map(this.valueInfo);
    g.opset = this.opset;
    g.otherOpsets = [...this.otherOpsets];
    return g;
  }

  /** Map from value name to the node producing it. */
  producers(): Map<string, Node> {
    const m = new Map<string, Node>();
    for (const n of this.nodes) for (const o of n.outputs) if (o) m.set(o, n);
    return m;
  }

  /** Map from value name to the nodes that read it. */
  consumers(): Map<string, Node[]> {
    const m = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (!i) continue;
        let list = m.get(i);
        if (!list) m.set(i, (list = []));
        list.push(n);
      }
    }
    return m;
  }
}

/**
 * `nodes` without those of `candidates` whose outputs nothing reads any more (latest first, so a
 * chain goes); the graph's outputs count as read.
 */
export function dropUnread(nodes: Node[], candidates: Set<Node>, graphOutputs: Set<string>): Node[] {
  const reads = new Map<string, number>();
  for (const n of nodes) for (const i of n.inputs) reads.set(i, (reads.get(i) ?? 0) + 1);
  const dropped = new Set<Node>();
  for (const n of [...nodes].reverse()) {
    if (!candidates.has(n) || n.outputs.some((o) => (reads.get(o) ?? 0) > 0 || graphOutputs.has(o))) continue;
    dropped.add(n);
    for (const i of n.inputs) reads.set(i, reads.get(i)! - 1);
  }
  return nodes.filter((n) => !dropped.has(n));
}

/**
 * Reorders nodes so every value is produced before it is read, keeping the existing order
 * wherever it is already valid (passes append nodes at the end).
 */
export function sortTopologically(graph: Graph): void {
  const available = new Set<string>(['', ...graph.initializers.keys(), ...graph.inputs.map((v) => v.name)]);
  const producer = graph.producers();
  const sorted: Node[] = [];
  const state = new Map<Node, 'open' | 'done'>();
  // Iterative depth-first search: deep graphs would overflow a recursive one.
  for (const root of graph.nodes) {
    if (state.get(root) === 'done') continue;
    const stack: { node: Node; next: number }[] = [{ node: root, next: 0 }];
    state.set(root, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next < top.node.inputs.length) {
        const v = top.node.inputs[top.next++];
        const p = available.has(v) ? undefined : producer.get(v);
        if (!p || state.get(p) === 'done') continue;
        if (state.get(p) === 'open') throw new Error(`graph has a cycle through ${describeNode(p)}`);
        state.set(p, 'open');
        stack.push({ node: p, next: 0 });
      } else {
        state.set(top.node, 'done');
        sorted.push(top.node);
        stack.pop();
      }
    }
  }
  graph.nodes = sorted;
}

export function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attrs.get(name);
  if (!a) return fallback;
  if (a.kind === 'int' || a.kind === 'float') return a.value;
  throw new Error(`attribute ${name} of ${describeNode(node)} is ${a.kind}, expected an int`);
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  return attrInt(node, name, fallback);
}

export function attrInts(node: Node, name: string): number[] | undefined;
export function attrInts(node: Node, name: string, fallback: number[]): number[];
export function attrInts(node: Node, name: string, fallback?: number[]): number[] | undefined {
  const a = node.attrs.get(name);
  if (!a) return fallback;
  if (a.kind === 'ints' || a.kind === 'floats') return a.value;
  throw new Error(`attribute ${name} of ${describeNode(node)} is ${a.kind}, expected ints`);
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attrs.get(name);
  if (!a) return fallback;
  if (a.kind === 'string') return a.value;
  throw new Error(`attribute ${name} of ${describeNode(node)} is ${a.kind}, expected a string`);
}

export function attrTensor(node: Node, name: string): Tensor | undefined {
  const a = node.attrs.get(name);
  return a && a.kind === 'tensor' ? a.value : undefined;
}

/** Names a node reads, counting the outer-scope names its subgraphs use. */
export function subgraphReads(node: Node): Set<string> {
  const names = new Set<string>();
  const visit = (g: { node?: { input?: string[] | null; attribute?: unknown[] | null }[] | null } | null | undefined) => {
    for (const n of g?.node ?? []) {
      for (const i of n.input ?? []) names.add(i);
      for (const a of (n.attribute ?? []) as { g?: unknown; graphs?: unknown[] }[]) {
        if (a.g) visit(a.g as Parameters<typeof visit>[0]);
        for (const s of a.graphs ?? []) visit(s as Parameters<typeof visit>[0]);
      }
    }
  };
  for (const a of node.attrs.values()) {
    if (a.kind !== 'raw') continue;
    if (a.value.g) visit(a.value.g);
    for (const s of a.value.graphs ?? []) visit(s);
  }
  return names;
}

/** How errors name a node: its op and its name (or first output when unnamed). */
export function describeNode(node: Node): string {
  return `${node.op} node "${node.name || node.outputs[0] || '?'}"`;
}

export type AttrInput = number | string | number[] | string[] | Tensor | Attribute;

/** Attribute constructors: ints stay ints, use attrF for floats. */
export function attrs(values: Record<string, AttrInput | undefined>, floats: string[] = []): Map<string, Attribute> {
  const m = new Map<string, Attribute>();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    m.set(k, toAttribute(v, floats.includes(k)));
  }
  return m;
}

function toAttribute(v: AttrInput, isFloat: boolean): Attribute {
  if (typeof v === 'number') return isFloat ? { kind: 'float', value: v } : { kind: 'int', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { kind: 'strings', value: v as string[] };
    return isFloat ? { kind: 'floats', value: v as number[] } : { kind: 'ints', value: v as number[] };
  }
  if ('kind' in v) return v;
  return { kind: 'tensor', value: v };
}
