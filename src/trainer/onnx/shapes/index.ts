// Shape and type inference over a graph: one inference function per operator, run in graph
// order. Unknown operators get unknown outputs unless the model's value_info says more.

import { Graph, Node, ValueInfo } from '../graph';
import { DataType } from '../tensor';
import { ShapeMismatchError } from './dims';
import { elementwiseRules } from './elementwise';
import { Facts, InferCtx, InferFn, factsOfTensor } from './facts';
import { nnRules } from './nn';
import { tensorOpRules } from './tensorOps';

export type { Facts } from './facts';
export { ShapeMismatchError } from './dims';

const RULES: Record<string, InferFn> = { ...elementwiseRules(), ...tensorOpRules(), ...nnRules() };

/** Operators whose shapes the engine can infer. */
export function inferableOps(): string[] {
  return Object.keys(RULES);
}

/** The known facts about every value of a graph, extended as builders add nodes. */
export class ShapeTable {
  private facts = new Map<string, Facts>();

  constructor(private readonly graph: Graph) {
    for (const [name, t] of graph.initializers) this.facts.set(name, factsOfTensor(t));
    for (const v of graph.inputs) this.facts.set(v.name, { type: v.type, shape: v.shape && [...v.shape] });
  }

  /** Infers every node of the graph in order. */
  inferAll(): this {
    for (const n of this.graph.nodes) this.inferNode(n);
    return this;
  }

  get(name: string): Facts | undefined {
    return this.facts.get(name);
  }

  set(name: string, f: Facts) {
    this.facts.set(name, f);
  }

  /** Facts of a value that must be known; the message names the value. */
  require(name: string): Facts {
    const f = this.facts.get(name);
    if (!f) throw new Error(`no shape or type is known for value "${name}"`);
    return f;
  }

  inferNode(node: Node): void {
    const rule = node.domain === '' ? RULES[node.op] : undefined;
    const inputs = node.inputs.map((i) => (i ? this.facts.get(i) : undefined));
    let outs: (Facts | undefined)[] = [];
    if (rule) {
      try {
        outs = rule(new InferCtx(node, inputs, this.graph.opset));
      } catch (e) {
        const where = `${node.op} node "${node.name}"`;
        if (e instanceof ShapeMismatchError) throw new ShapeMismatchError(`${where}: ${e.message}`);
        throw new Error(`shape inference failed at ${where}: ${(e as Error).message}`);
      }
    }
    node.outputs.forEach((o, i) => {
      if (!o) return;
      const hint = this.graph.valueInfo.get(o);
      const f = outs[i] ?? (hint ? { type: hint.type, shape: hint.shape } : { type: 0 as DataType });
      // A static hint from the model beats a symbol inference invented.
      if (hint?.shape && f.shape && hint.shape.length === f.shape.length) {
        f.shape = f.shape.map((d, k) => (typeof d === 'string' && d.startsWith('?') && typeof hint.shape![k] === 'number' ? hint.shape![k] : d));
      }
      if (!f.type && hint) f.type = hint.type;
      this.facts.set(o, f);
    });
  }

  valueInfo(name: string): ValueInfo {
    const f = this.require(name);
    return { name, type: f.type, shape: f.shape };
  }
}
