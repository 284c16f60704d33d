// Computes only the rows a model reads. A sequence classifier reads one position of its last
// hidden states: BERT's and RoBERTa's heads, DistilBERT's and ViT's take token 0 (`hidden[:, 0]`,
// exported as a Gather of a constant index along the sequence axis). The exported graph still
// computes the whole last layer for every token, and the backward pass differentiates all of it.
// This pass moves such a Gather up through the operators that compute each row along its axis on
// its own (elementwise ones, a product's rows, layer norm over the other axes, softmax along
// another axis, transposes, reshapes that keep the axis) until it reaches a value that something
// else reads whole. In BERT's last layer that leaves the keys and values for every token, and the
// query, the attention, its output projection, the feed-forward block and both layer norms for
// token 0 alone: about five sixths of a layer's products, in both passes. The rows the model
// reads are computed by the same operators on the same operands, so they are unchanged.

import { GraphBuilder } from '../onnx/builder';
import { Dim, Graph, Node, attrInt, attrInts } from '../onnx/graph';
import { Facts, ShapeTable } from '../onnx/shapes';
import { compareDims, normalizeAxis } from '../onnx/shapes/dims';
import { DataType, Tensor, fromNumbers, isFloatType, sizeOf } from '../onnx/tensor';
import { NodeIndex } from './nodeIndex';

/** Where a selection of rows goes through one input of a node: along an axis, or nowhere (the input broadcasts over it). */
type Route = number | 'whole' | undefined;

interface Plan {
  routes: Route[];
  /** Inputs replaced by a new constant (a Reshape's target shape). */
  constants?: Map<number, Tensor>;
}

interface RuleInput {
  node: Node;
  /** The selected axis of the node's (first) output. */
  axis: number;
  /** The shape of the node's output before the selection. */
  out: readonly Dim[];
  facts(i: number): Facts | undefined;
  /**
   * Every index is 0 or −1: then selecting from an axis of size 1 gives the broadcast value, so an
   * operand whose size there is unknown may be selected from as well.
   */
  edgeOnly: boolean;
}

type Rule = (c: RuleInput) => Plan | undefined;

/** How the selection reaches an operand broadcast against the output (numpy rules, right-aligned). */
function broadcastRoute(c: RuleInput, i: number): Route {
  if (!c.node.inputs[i]) return 'whole';
  const shape = c.facts(i)?.shape;
  if (!shape) return undefined;
  const at = c.axis - (c.out.length - shape.length);
  if (at < 0 || shape[at] === 1) return 'whole';
  if (compareDims(shape[at], c.out[c.axis]) === 'equal' || c.edgeOnly) return at;
  return undefined;
}

const elementwise: Rule = (c) => ({ routes: c.node.inputs.map((_, i) => broadcastRoute(c, i)) });

/** Operators that compute each output element from the operands' elements at the same (broadcast) position. */
export const ELEMENTWISE = [
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Less', 'LessOrEqual', 'Greater',
  'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'PRelu', 'Relu', 'Tanh', 'Sigmoid', 'Erf', 'Gelu', 'Sqrt', 'Exp', 'Log',
  'Neg', 'Abs', 'Reciprocal', 'Cast', 'Identity', 'IsNaN', 'IsInf', 'Softplus', 'Softsign', 'HardSigmoid', 'HardSwish',
  'LeakyRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Mish', 'Clip', 'Sin', 'Cos', 'Floor', 'Ceil', 'Round',
  'Sign', 'Shrink', 'Dropout',
];

const RULES: Record<string, Rule> = {
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, elementwise])),
  MatMul: (c) => {
    const [a, b] = [c.facts(0)?.shape, c.facts(1)?.shape];
    if (!a || !b || a.length < 2 || b.length < 2) return undefined;
    const rank = c.out.length;
    if (c.axis === rank - 2) return { routes: [a.length - 2, 'whole'] };
    if (c.axis === rank - 1) return { routes: ['whole', b.length - 1] };
    return { routes: [broadcastRoute(c, 0), broadcastRoute(c, 1)] };
  },
  Gemm: (c) => {
    if (c.axis !== 0) return undefined;
    return { routes: [attrInt(c.node, 'transA', 0) ? 1 : 0, 'whole', broadcastRoute(c, 2)] };
  },
  LayerNormalization: (c) => (c.axis < normalizeAxis(attrInt(c.node, 'axis', -1), c.out.length) ? { routes: [c.axis, 'whole', 'whole'] } : undefined),
  Softmax: softmaxRows,
  LogSoftmax: softmaxRows,
  Transpose: (c) => {
    const perm = attrInts(c.node, 'perm') ?? c.out.map((_, i) => c.out.length - 1 - i);
    return { routes: [perm[c.axis]] };
  },
  Reshape: reshapeRows,
};

/** Softmax normalizes along one axis (prepared graphs are at opset 20 or newer, prepare.ts). */
function softmaxRows(c: RuleInput): Plan | undefined {
  return c.axis !== normalizeAxis(attrInt(c.node, 'axis', -1), c.out.length) ? { routes: [c.axis] } : undefined;
}

/**
 * A Reshape keeps the selected axis when the dims before it are the input's and the dims after it
 * hold as many elements as the input's (all known): then the axis itself has the input's size.
 * Its target shape is rewritten as "copy the leading dims" (0) and the trailing ones, since the
 * exporters compute it from the unselected tensor's shape.
 */
function reshapeRows(c: RuleInput): Plan | undefined {
  const input = c.facts(0)?.shape;
  if (!input || input.length <= c.axis) return undefined;
  for (let i = 0; i < c.axis; i++) if (compareDims(input[i], c.out[i]) !== 'equal') return undefined;
  const tailIn = input.slice(c.axis + 1);
  const tailOut = c.out.slice(c.axis + 1);
  const known = (dims: readonly Dim[]): dims is number[] => dims.every((d) => typeof d === 'number' && d > 0);
  if (!known(tailIn) || !known(tailOut) || sizeOf(tailIn) !== sizeOf(tailOut)) return undefined;
  const shape = [...new Array<number>(c.axis + 1).fill(0), ...tailOut];
  return { routes: [c.axis, 'whole'], constants: new Map([[1, fromNumbers(DataType.INT64, [shape.length], shape)]]) };
}

/**
 * Moves every Gather of constant indices over a floating-point value as close to the graph's
 * inputs as the operators allow (see the header). Values named in `keep` (what the loss head
 * reads), graph outputs and values read by subgraphs are never replaced by their selected rows.
 * Returns the number of operators that now compute selected rows only.
 */
export function computeSelectedRowsOnly(graph: Graph, keep: ReadonlySet<string>): number {
  const shapes = new ShapeTable(graph).inferAll();
  const index = new NodeIndex(graph, keep);
  const { held, producers, live } = index;
  // Names and constants come from a builder over the same graph and facts; nodes are placed by hand.
  const b = new GraphBuilder(graph, shapes);
  const made = new Set<Node>();
  const gather = (data: string, indices: string, axis: number): Node => {
    const node: Node = { name: b.fresh(`${data}/select`), op: 'Gather', domain: '', inputs: [data, indices], outputs: [b.fresh(data)], attrs: new Map([['axis', { kind: 'int', value: axis }]]) };
    made.add(node);
    return node;
  };

  /** The selection a Gather node makes, when it is one this pass moves. */
  const selection = (g: Node) => {
    if (g.op !== 'Gather' || g.domain !== '') return undefined;
    const data = shapes.get(g.inputs[0]);
    const idx = shapes.get(g.inputs[1]);
    // The model's own selections of floating-point values start; those made here may select masks.
    if (!data?.shape || !(made.has(g) || isFloatType(data.type)) || !graph.initializers.has(g.inputs[1]) || !idx?.value || !idx.shape || idx.shape.length > 1) return undefined;
    if (!idx.value.every((v) => typeof v === 'number')) return undefined;
    return { axis: normalizeAxis(attrInt(g, 'axis', 0), data.shape.length), indices: idx.value as number[], scalar: idx.shape.length === 0 };
  };

  /** Moves the Gather `g` above its input's producer; false where it cannot (yet). */
  const moveUp = (g: Node): boolean => {
    const sel = selection(g);
    const x = g.inputs[0];
    const p = producers.get(x);
    if (!sel || !p || p.domain !== '' || held.has(x) || p.outputs.slice(1).some((o) => o && index.readElsewhere(o))) return false;
    const rule = RULES[p.op];
    const out = shapes.get(x)?.shape;
    if (!rule || !out) return false;
    // Several readers: only when all of them make this very selection, which then becomes one.
    const others = [...index.readers(x)].filter((r) => r !== g);
    if (others.some((r) => r.op !== 'Gather' || r.inputs[1] !== g.inputs[1] || selection(r)?.axis !== sel.axis || held.has(r.outputs[0]))) return false;
    const plan = rule({ node: p, axis: sel.axis, out, facts: (i) => (p.inputs[i] ? shapes.get(p.inputs[i]) : undefined), edgeOnly: sel.indices.every((i) => i === 0 || i === -1) });
    if (!plan || plan.routes.some((r) => r === undefined)) return false;
    if (sel.scalar) return toVectorSelection(g, sel.axis);
    for (const r of others) {
      for (const reader of [...index.readers(r.outputs[0])]) index.rewire(reader, r.outputs[0], g.outputs[0]);
      index.replace(r);
    }
    const added: Node[] = [];
    const inputs = p.inputs.map((v, i) => {
      const c = plan.constants?.get(i);
      if (c) return b.constant(c, `${p.name}/shape`);
      const route = plan.routes[i];
      if (!v || route === 'whole') return v;
      const picked = gather(v, g.inputs[1], route as number);
      added.push(picked);
      return picked.outputs[0];
    });
    const moved: Node = { ...p, inputs, outputs: [g.outputs[0]], attrs: new Map(p.attrs) };
    if (p.op === 'Reshape') moved.attrs.delete('allowzero');
    index.replace(g);
    index.replace(p, [...added, moved]);
    p.inputs.forEach((v, i) => plan.constants?.has(i) && index.dropIfUnread(v));
    return true;
  };

  /** Gather(x, i) drops the axis; Squeeze(Gather(x, [i]), axis) keeps it while the Gather moves. */
  const toVectorSelection = (g: Node, axis: number): boolean => {
    const indices = graph.initializers.get(g.inputs[1])!;
    const vector = b.constant(fromNumbers(indices.type, [1], [Number(indices.data[0])]), `${g.inputs[1]}/vector`);
    const kept: Node = gather(g.inputs[0], vector, axis);
    const squeeze: Node = { name: b.fresh(`${g.name}/squeeze`), op: 'Squeeze', domain: '', inputs: [kept.outputs[0], b.int64s([axis])], outputs: [g.outputs[0]], attrs: new Map() };
    index.replace(g, [kept, squeeze]);
    return true;
  };

  let moves = 0;
  for (let progress = true; progress; ) {
    progress = false;
    for (const g of [...graph.nodes]) {
      if (!live.has(g)) continue;
      const scalar = selection(g)?.scalar;
      if (moveUp(g)) {
        progress = true;
        if (!scalar) moves++;
      }
    }
  }
  // Where a selection stopped, one run of rows becomes a Slice: its gradient is one Pad, where a
  // Gather's is a scatter into zeros with the axis transposed to the front and back.
  for (const g of made) {
    const sel = live.has(g) ? selection(g) : undefined;
    const first = sel?.indices[0];
    if (!sel || first === undefined || !sel.indices.every((v, i) => v === first + i) || (first < 0 && sel.indices.length > 1)) continue;
        const end = first === -1 ? 2 ** 62 : first + sel.indices.length;
    index.replace(g, [{ ...g, op: 'Slice', inputs: [g.inputs[0], b.int64s([first]), b.int64s([end]), b.int64s([sel.axis])], attrs: new Map() }]);
  }
  return moves;
}
