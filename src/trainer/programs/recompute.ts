// Gradient checkpointing: the backward pass recomputes forward activations instead of keeping
// them alive from the forward pass. Kept ("checkpointed") values are the graph inputs, the
// initializers and the forward values read by more than one forward node — branch points such as
// a transformer's residual stream. Every other forward value a backward node reads is recomputed
// from kept values by a clone of its producers, placed just before its first backward use, so
// onnxruntime frees the originals after the forward pass and holds one layer's activations at a
// time during the backward pass.

import { Graph, Node } from '../onnx/graph';

export interface RecomputeStats {
  /** Forward nodes cloned into the backward pass. */
  cloned: number;
}

/**
 * Rewrites the backward section (nodes from `backwardStart` on) of `graph` to read recomputed
 * activations. `fresh` makes unique value names.
 */
export function recomputeActivations(graph: Graph, backwardStart: number, fresh: (hint: string) => string): RecomputeStats {
  const forward = graph.nodes.slice(0, backwardStart);
  const backward = graph.nodes.slice(backwardStart);
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of forward) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const kept = (v: string) => !producer.has(v) || (uses.get(v) ?? 0) > 1 || outputs.has(v);

  const cloneOf = new Map<string, string>();
  const emitted: Node[] = [];
  let cloned = 0;
  // Clones a value's producer (and, recursively, what it reads that is not kept).
  const recompute = (v: string): string => {
    if (kept(v)) return v;
    const done = cloneOf.get(v);
    if (done) return done;
    const n = producer.get(v)!;
    const inputs = n.inputs.map((i) => (i ? recompute(i) : i));
    const outs = n.outputs.map((o) => (o ? fresh(`${o}_recomputed`) : o));
    n.outputs.forEach((o, k) => o && cloneOf.set(o, outs[k]));
    emitted.push({ ...n, name: fresh(`${n.name}_recompute`), inputs, outputs: outs, attrs: new Map(n.attrs) });
    cloned++;
    return cloneOf.get(v)!;
  };

  const rewritten: Node[] = [];
  for (const n of backward) {
    n.inputs = n.inputs.map((i) => (i && producer.has(i) ? recompute(i) : i));
    rewritten.push(...emitted.splice(0), n);
  }
  graph.nodes = [...forward, ...rewritten];
  return { cloned };
}
