// Runs a graph's Convs with computed weights in onnxruntime's blocked channel layout (NCHWc) on
// the CPU. onnxruntime turns a Conv into its fast NCHWc form only when the weight is a constant
// initializer, so in a train step, where weights are fed, every Conv ran as im2col + GEMM per
// image. Its com.microsoft.nchwc operators also take a fed weight in the blocked layout
// [O/B, C/B, Kh, Kw, B (c), B (o)], so each such Conv here becomes: the weight reordered in the
// graph (a Gather with constant indices), ReorderInput(x), the NCHWc Conv, ReorderOutput. Measured
// per Conv at batch 32 (onnxruntime's profiler, a probe with the reorder as a Transpose): ResNet-18
// 224²'s 3×3 Convs 37 → 33 ms (64 channels, 56×56), 40 → 35 (128, 28×28), 56 → 36 (256, 14×14),
// 48 → 41 (512, 7×7, of which 8 ms the weight's reorder). The block B is the CPU's
// (16 with AVX-512, 8 with AVX2), read from onnxruntime itself (nchwcBlockSize below), since a wrong
// guess computes garbage without an error. The compiled programs stay plain ONNX: this rewrite is
// made per session, for the CPU provider only.

import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder';
import { Graph, Node, attrInt, attrString } from '../onnx/graph';
import { serializeGraph } from '../onnx/model';
import { DataType, fromNumbers } from '../onnx/tensor';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/**
 * Outputs of fewer positions keep the plain Conv: there the weight's reorder, once per step and
 * Conv, costs about what the product gains. ResNet-18 224² step (alternated): limit 64 → 32, which
 * adds layer 4 (512 channels at 7×7), 1843–1874 → 1787–1793 ms.
 */
export const BLOCKED_MIN_POSITIONS = 32;

let detected: Promise<number | undefined> | undefined;

/**
 * The channel block of onnxruntime's NCHWc kernels on this CPU, or undefined where they do not
 * run. Found by reordering a [1, 64, 1, 2] tensor that holds each element's own NCHW index:
 * blocked, channel c of position s lies at ((c div B)·2 + s)·B + c mod B.
 */
export function nchwcBlockSize(): Promise<number | undefined> {
  detected ??= probeBlockSize();
  return detected;
}

async function probeBlockSize(): Promise<number | undefined> {
  const channels = 64;
  const graph = new Graph();
  graph.name = 'nchwc_block_probe';
  graph.opset = 17;
  graph.otherOpsets = [{ domain: NCHWC_DOMAIN, version: 1 }];
  graph.inputs = [{ name: 'x', type: DataType.FLOAT, shape: [1, channels, 1, 2] }];
  graph.outputs = [{ name: 'y', type: DataType.FLOAT, shape: [1, channels, 1, 2] }];
  graph.nodes = [{ name: 'reorder', op: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: ['x'], outputs: ['y'], attrs: new Map() }];
  try {
    const session = await ort.InferenceSession.create(serializeGraph(graph), { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
    const x = Float32Array.from({ length: channels * 2 }, (_, k) => k);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [1, channels, 1, 2]) })).y.data as Float32Array;
    await session.release();
    return [16, 8, 4, 32].find((block) => y.every((v, k) => {
      const [c, s] = [Math.floor(k / (2 * block)) * block + (k % block), Math.floor(k / block) % 2];
      return v === c * 2 + s;
    }));
  } catch {
    return undefined;
  }
}

/** Sizes of a Conv the rewrite applies to, or undefined. */
function eligible(b: GraphBuilder, n: Node, block: number) {
  if (n.op !== 'Conv' || n.domain !== '' || attrInt(n, 'group', 1) !== 1) return undefined;
  if (!['', 'NOTSET'].includes(attrString(n, 'auto_pad', ''))) return undefined;
  const [x, w] = n.inputs;
  // A constant weight: onnxruntime's own NCHWc transform blocks it once (optimization level "all").
  if (b.graph.initializers.has(w)) return undefined;
  const xf = b.shapes.get(x);
  const wf = b.shapes.get(w);
  if (xf?.type !== DataType.FLOAT || xf.shape?.length !== 4 || wf?.shape?.length !== 4) return undefined;
  const [o, c, kh, kw] = wf.shape;
  if (![o, c, kh, kw].every((d) => typeof d === 'number') || xf.shape[1] !== c) return undefined;
  // Fewer input channels than the block (an RGB stem): the NCHWc Conv reads x unblocked.
  if ((o as number) % block !== 0 || ((c as number) % block !== 0 && (c as number) >= block)) return undefined;
  const spatial = b.shapes.get(n.outputs[0])?.shape?.slice(2);
  if (!spatial || spatial.some((d) => typeof d !== 'number') || (spatial as number[]).reduce((a, d) => a * d, 1) < BLOCKED_MIN_POSITIONS) return undefined;
  return { o: o as number, c: c as number, kh: kh as number, kw: kw as number };
}

/**
 * For each element of a weight [O, C, K] in the blocked layout [O/B, C/B, K, B (c), B (o)] — or,
 * for an input of fewer than B channels, which the NCHWc Conv reads unblocked, [O/B, C, K, B (o)]
 * — its index in the plain one. The reorder is a Gather with these: onnxruntime's Transpose took
 * 8 ns per element for the six-axis permutation (4.7 ms per 256×256×3×3 weight in the train step,
 * the Gather 1.1 ms).
 */
export function blockedOrder(o: number, c: number, k: number, block: number): Int32Array {
  const order = new Int32Array(o * c * k);
  const plain = (oc: number, ci: number, p: number) => (oc * c + ci) * k + p;
  let at = 0;
  for (let ob = 0; ob < o / block; ob++) {
    if (c < block) {
      for (let ci = 0; ci < c; ci++) for (let p = 0; p < k; p++) for (let oi = 0; oi < block; oi++) order[at++] = plain(ob * block + oi, ci, p);
      continue;
    }
    for (let cb = 0; cb < c / block; cb++) {
      for (let p = 0; p < k; p++) {
        for (let ci = 0; ci < block; ci++) for (let oi = 0; oi < block; oi++) order[at++] = plain(ob * block + oi, cb * block + ci, p);
      }
    }
  }
  return order;
}

/**
 * A copy of `graph` with each eligible Conv in the NCHWc form, in the Conv's place; undefined when
 * there is none. Eligible: ungrouped, 2-D, float32, explicit pads (no auto_pad), a weight that is
 * not an initializer, static channel counts that are multiples of `block` (or fewer input
 * channels than `block`), and a static output of at least BLOCKED_MIN_POSITIONS positions.
 */
export function blockConvs(graph: Graph, block: number): Graph | undefined {
  const init = graph.initializers;
  if (!graph.nodes.some((n) => n.op === 'Conv' && n.domain === '' && !init.has(n.inputs[1]))) return undefined;
  const g = graph.clone();
  const b = new GraphBuilder(g);
  const result: Node[] = [];
  let blocked = 0;
  for (const n of g.nodes.splice(0)) {
    const sizes = eligible(b, n, block);
    if (!sizes) {
      result.push(n);
      continue;
    }
    const { o, c, kh, kw } = sizes;
    const [x, w, bias] = n.inputs;
    // Convs of one weight shape share the order.
    const order = b.sharedConstant(`nchwc_weight_order:${[o, c, kh, kw].join(',')}`, () => fromNumbers(DataType.INT32, [o * c * kh * kw], blockedOrder(o, c, kh * kw, block)), 'nchwc_weight_order');
    const weight = b.reshape(b.op('Gather', [b.reshape(w, [-1]), order], { axis: 0 }), [o, c, kh, kw]);
    const xb = c < block ? x : b.add('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN })[0];
    const attrs = new Map(n.attrs);
    attrs.set('kernel_shape', { kind: 'ints', value: [kh, kw] });
    const yb = b.add('Conv', bias ? [xb, weight, bias] : [xb, weight], attrs, { domain: NCHWC_DOMAIN, name: n.name })[0];
    // Shape inference knows no com.microsoft.nchwc operator: the Conv's output keeps its facts, so
    // that a Conv reading it directly is still found eligible.
    const facts = b.shapes.get(n.outputs[0]);
    b.add('ReorderOutput', [yb], { channels: o }, { domain: NCHWC_DOMAIN, outputs: [n.outputs[0]] });
    if (facts) b.shapes.set(n.outputs[0], facts);
    result.push(...g.nodes.splice(0));
    blocked++;
  }
  g.nodes = result;
  if (!blocked) return undefined;
  g.otherOpsets = [...g.otherOpsets.filter((d) => d.domain !== NCHWC_DOMAIN), { domain: NCHWC_DOMAIN, version: 1 }];
  return g;
}
