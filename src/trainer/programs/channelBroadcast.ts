// Widens per-channel operands of elementwise arithmetic over small images, for onnxruntime's CPU
// kernels. Add, Sub, Mul and Div of [N, C, H, W] with [1, C, 1, 1] (batch norm's statistics and
// scales, in both passes) walk the broadcast one run of H·W elements at a time, paying a call per
// run: at [32, 512, 2, 2] a Mul took 128 µs, against 13 µs with the operand expanded to
// [1, C, H, W] first (then one run of C·H·W per image) plus 16–28 µs for the Expand; at
// [32, 256, 4, 4] 89 → 43 + 15 µs; at [32, 128, 8, 8] 74 against 72 (no gain), hence
// WIDEN_MAX_RUN. ResNet-18 at 64×64 has 35 such nodes at 2×2 and 30 at 4×4 in its train step.
// The arithmetic is unchanged (the same pairs of elements meet), so results are the same bits.
// A rewrite of each CPU session's graph, like nchwc.ts: the compiled programs stay as they are.

import { GraphBuilder } from '../onnx/builder';
import { Dim, Graph, Node } from '../onnx/graph';
import { isStatic } from '../onnx/shapes/dims';

/** The longest broadcast run (product of the trailing broadcast axes) worth widening. */
export const WIDEN_MAX_RUN = 16;

const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div']);

/**
 * The shape to expand `small` to, or undefined: `small` (right-aligned to `out`) must be 1 on a
 * run of trailing axes of known sizes whose product is 2..WIDEN_MAX_RUN, and the widened operand
 * must still be broadcast over some leading axis (a symbolic one, the batch, counts as large), else
 * the Expand would copy as much as the op itself.
 */
export function widenedShape(small: number[], out: Dim[]): number[] | undefined {
  if (small.length > out.length) return undefined;
  const s = [...Array<number>(out.length - small.length).fill(1), ...small];
  let t = out.length;
  let run = 1;
  for (; t > 0 && s[t - 1] === 1 && out[t - 1] !== 1; t--) {
    const d = out[t - 1];
    // A symbolic size in the run leaves its length unknown.
    if (typeof d !== 'number') return undefined;
    run *= d;
  }
  if (run < 2 || run > WIDEN_MAX_RUN) return undefined;
  const widened = [...s.slice(0, t), ...(out.slice(t) as number[])];
  const size = (d: Dim[]) => d.reduce<number>((a, x) => a * (typeof x === 'number' ? x : Infinity), 1);
  return size(widened) * 2 <= size(out) ? widened : undefined;
}

/** The graph with small per-channel operands expanded, or undefined where none qualifies. */
export function widenChannelBroadcasts(graph: Graph): Graph | undefined {
  if (!graph.nodes.some((n) => ARITHMETIC.has(n.op) && n.domain === '')) return undefined;
  const g = graph.clone();
  const b = new GraphBuilder(g);
  const widened = new Map<string, string>();
  const result: Node[] = [];
  for (const n of g.nodes.splice(0)) {
    const out = ARITHMETIC.has(n.op) && n.domain === '' && n.inputs.length === 2 ? b.shapes.get(n.outputs[0])?.shape : undefined;
    const shapes = out && n.inputs.map((i) => b.shapes.get(i)?.shape);
    if (!out || !shapes || !shapes[0] || !shapes[1]) {
      result.push(n);
      continue;
    }
    // The other operand must be the output's own shape (broadcast on one side only), and the
    // per-channel one of known sizes.
    const k = shapes.findIndex((s, i) => shapes[1 - i]!.join() === out.join() && s!.join() !== out.join() && isStatic(s));
    const target = k < 0 ? undefined : widenedShape(shapes[k] as number[], out);
    if (!target) {
      result.push(n);
      continue;
    }
    const small = n.inputs[k];
    const key = `${small}|${target.join()}`;
    let wide = widened.get(key);
    if (!wide) {
      wide = b.op('Expand', [small, b.int64s(target)]);
      widened.set(key, wide);
    }
    result.push(...g.nodes.splice(0));
    n.inputs = n.inputs.map((x, i) => (i === k ? wide! : x));
    result.push(n);
  }
  g.nodes = result;
  return widened.size ? g : undefined;
}
