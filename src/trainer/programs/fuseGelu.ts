// Recognises the exact GELU that exporters write out operator by operator — TorchScript's
// x · ½ · (1 + erf(x / √2)) as Div, Erf, Add, Mul, Mul — and turns it into one Gelu node before
// the backward pass is built.
//
// Why: differentiated operator by operator, the decomposition keeps three [tokens × ffn] tensors
// alive from the forward to the backward pass (x/√2 for Erf, 1 + erf for the product, and x);
// Gelu's gradient rule needs x only, as PyTorch's GELU does. On DistilBERT-base at 16 × 128 that
// is 2 × 25 MB per layer (docs/PERFORMANCE.md). The fused forward also runs as one kernel.
// Program graphs are at opset 20 or newer (onnx/opset.ts), which has Gelu.

import { Graph, Node } from '../onnx/graph';
import { DataType, elementValue } from '../onnx/tensor';

function scalarValue(graph: Graph, name: string): number | undefined {
  const t = graph.initializers.get(name);
  return t && t.data.length === 1 ? elementValue(t, 0) : undefined;
}

const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);

/** The other input of a two-input node, when one of them is `name`. */
function other(node: Node, name: string): string | undefined {
  if (node.inputs.length !== 2) return undefined;
  if (node.inputs[0] === name) return node.inputs[1];
  if (node.inputs[1] === name) return node.inputs[0];
  return undefined;
}

/**
 * Replaces every decomposed exact GELU over a float32 tensor by one Gelu node and
 * returns how many it replaced. `typeOf` gives a value's element type.
 */
export function fuseGelu(graph: Graph, typeOf: (name: string) => DataType | undefined): number {
  const producers = graph.producers();
  const consumers = graph.consumers();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const op = (name: string | undefined, type: string) => {
    const n = name === undefined ? undefined : producers.get(name);
    return n && n.op === type && n.domain === '' ? n : undefined;
  };
  /** The only reader of `name`, if it has one and `name` is not a graph output. */
  const only = (name: string, type: string) => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !graphOutputs.has(name) && c[0].op === type && c[0].domain === '' ? c[0] : undefined;
  };
  /** x when `v` is x·c, c·x or x/d with the constants given. */
  const scaled = (v: string, factor: number): { x: string; node: Node } | undefined => {
    const div = op(v, 'Div');
    if (div && near(scalarValue(graph, div.inputs[1]), 1 / factor)) return { x: div.inputs[0], node: div };
    const mul = op(v, 'Mul');
    if (!mul) return undefined;
    const k = mul.inputs.findIndex((i) => near(scalarValue(graph, i), factor));
    return k < 0 ? undefined : { x: mul.inputs[1 - k], node: mul };
  };

  const drop = new Set<Node>();
  const replace = new Map<Node, Node>();
  for (const erf of graph.nodes) {
    if (erf.op !== 'Erf' || erf.domain !== '') continue;
    const inner = scaled(erf.inputs[0], Math.SQRT1_2);
    if (!inner || (consumers.get(erf.inputs[0]) ?? []).length !== 1 || graphOutputs.has(erf.inputs[0])) continue;
    const { x } = inner;
    if (typeOf(x) !== DataType.FLOAT) continue;
    const plusOne = only(erf.outputs[0], 'Add');
    if (!plusOne || !near(scalarValue(graph, other(plusOne, erf.outputs[0])!), 1)) continue;
    const a = plusOne.outputs[0];
    // The products with x and ½, in any of the orders exporters write them.
    const first = only(a, 'Mul');
    if (!first) continue;
    const t = other(first, a)!;
    let last: Node | undefined;
    const extra: Node[] = [];
    if (t === x) {
      // (x · a) · ½
      const half = only(first.outputs[0], 'Mul');
      if (half && near(scalarValue(graph, other(half, first.outputs[0])!), 0.5)) last = half;
    } else {
      // a · (x · ½)
      const h = scaled(t, 0.5);
      if (h && h.x === x && (consumers.get(t) ?? []).length === 1 && !graphOutputs.has(t)) {
        last = first;
        extra.push(h.node);
      }
    }
    if (!last) {
      // (a · ½) · x
      const half = first;
      const k = other(half, a);
      const times = only(half.outputs[0], 'Mul');
      if (near(scalarValue(graph, k!), 0.5) && times && other(times, half.outputs[0]) === x) last = times;
    }
    if (!last) continue;
    const nodes = [inner.node, erf, plusOne, first, last, ...extra];
    if (nodes.some((n) => drop.has(n) || replace.has(n))) continue;
    for (const n of nodes) if (n !== last) drop.add(n);
    replace.set(last, { name: last.name, op: 'Gelu', domain: '', inputs: [x], outputs: [last.outputs[0]], attrs: new Map() });
  }
  // Gelu stands where the last product stood: every reader of x and of the result keeps its order.
  graph.nodes = graph.nodes.filter((n) => !drop.has(n)).map((n) => replace.get(n) ?? n);
  return replace.size;
}
