// Runs a graph's Convs with computed weights in onnxruntime's blocked channel layout (NCHWc) on
// the CPU. onnxruntime turns a Conv into its fast NCHWc form only when the weight is a constant
// initializer, so in a train step, where weights are fed, every Conv ran as im2col + GEMM per
// image. Its com.microsoft.nchwc operators also take a fed weight in the blocked layout
// [O/B, C/B, Kh, Kw, B (c), B (o)], so each such Conv here becomes: the weight reordered in the
// graph (a 2-D transpose and a Gather of rows, blockedWeight), ReorderInput(x), the NCHWc Conv,
// ReorderOutput. Measured per Conv at batch 32 (onnxruntime's profiler, a probe with the reorder
// as a Transpose): ResNet-18 224²'s 3×3 Convs 37 → 33 ms (64 channels, 56×56), 40 → 35 (128,
// 28×28), 56 → 36 (256, 14×14), 48 → 41 (512, 7×7, of which 8 ms the weight's reorder). The block
// B is the CPU's (16 with AVX-512, 8 with AVX2), read from onnxruntime itself (nchwcBlockSize
// below), since a wrong guess computes garbage without an error. The compiled programs stay plain ONNX: this rewrite is
// made per session, for the CPU provider only.

import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder';
import { Graph, Node, attrInt, attrInts, attrString, dropUnread } from '../onnx/graph';
import { serializeGraph } from '../onnx/model';
import { DataType, fromNumbers, sizeOf } from '../onnx/tensor';
import { isStatic } from '../onnx/shapes/dims';

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
function eligible(b: GraphBuilder, n: Node, block: number): Sizes | undefined {
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
  const positions = positionsOf(b, n.outputs[0]);
  if (positions === undefined || positions < BLOCKED_MIN_POSITIONS) return undefined;
  return { o: o as number, c: c as number, kh: kh as number, kw: kw as number };
}

/** The positions (H·W) of an [N, C, H, W] value's images, where its spatial sizes are known. */
function positionsOf(b: GraphBuilder, name: string): number | undefined {
  const spatial = b.shapes.get(name)?.shape?.slice(2);
  return isStatic(spatial) ? sizeOf(spatial) : undefined;
}

type Sizes = { o: number; c: number; kh: number; kw: number };

/**
 * The rows a blocked weight is gathered from: for each row of the blocked layout
 * [O/B, C/B, K, B (c), B (o)] — or, for an input of fewer than B channels, which the NCHWc Conv
 * reads unblocked, [O/B, C, K, B (o)] — the row of B consecutive output channels it copies,
 * `source(oBlock, c, k)`, in a layout with the output channel innermost.
 */
export function blockedRows(o: number, c: number, k: number, block: number, source: (ob: number, ci: number, p: number) => number): Int32Array {
  const rows = new Int32Array((o / block) * c * k);
  let at = 0;
  for (let ob = 0; ob < o / block; ob++) {
    if (c < block) {
      for (let ci = 0; ci < c; ci++) for (let p = 0; p < k; p++) rows[at++] = source(ob, ci, p);
      continue;
    }
    for (let cb = 0; cb < c / block; cb++) {
      for (let p = 0; p < k; p++) for (let ci = 0; ci < block; ci++) rows[at++] = source(ob, cb * block + ci, p);
    }
  }
  return rows;
}

/**
 * The tensor `w` is the flipped transpose of — Slice(Transpose(W, [1, 0, 2, 3])) reversing both
 * kernel axes, the weight of a stride-1 input gradient (autodiff/rules/conv.ts) — or undefined.
 */
function flippedTransposeOf(b: GraphBuilder, producers: Map<string, Node>, w: string, s: Sizes): { source: string; nodes: Node[] } | undefined {
  const graph = b.graph;
  const slice = producers.get(w);
  if (slice?.op !== 'Slice' || slice.domain !== '' || slice.inputs.length !== 5) return undefined;
  const ints = (name: string) => {
    const t = graph.initializers.get(name);
    return t && (t.type === DataType.INT64 || t.type === DataType.INT32) ? [...t.data].map(Number) : undefined;
  };
  const [starts, ends, axes, steps] = slice.inputs.slice(1).map(ints);
  if (!starts || !ends || !axes || !steps || axes.join() !== '2,3' || steps.join() !== '-1,-1' || starts.join() !== '-1,-1') return undefined;
  if (ends[0] > -1 - s.kh || ends[1] > -1 - s.kw) return undefined;
  const transpose = producers.get(slice.inputs[0]);
  if (transpose?.op !== 'Transpose' || transpose.domain !== '') return undefined;
  const perm = transpose.attrs.get('perm');
  if (perm?.kind !== 'ints' || perm.value.join() !== '1,0,2,3') return undefined;
  // The Slice must keep the whole kernel: the source's kernel is the Conv's, not one cut shorter.
  const source = b.shapes.get(transpose.inputs[0])?.shape;
  if (source?.join() !== [s.c, s.o, s.kh, s.kw].join()) return undefined;
  return { source: transpose.inputs[0], nodes: [slice, transpose] };
}

/**
 * `w` [O, C, Kh, Kw] in the blocked layout. A 2-D transpose moves the output channels innermost,
 * then one Gather copies rows of B of them into the blocked order. For the flipped transpose of a
 * weight W, its transpose W [C, O, K] → [K, C, O] and the kernel index reversed in the rows take
 * the place of the Transpose and the negative-step Slice. Measured per 512×512×3×3 weight
 * (onnxruntime's profiler): a Gather of every element by its own index 6 ms, the 2-D transpose
 * 0.7–0.9 ms and the Gather of rows 1.4 ms; the flip as Transpose + Slice 7.4 ms.
 */
function blockedWeight(b: GraphBuilder, w: string, s: Sizes, block: number, flipped: string | undefined): string {
  const k = s.kh * s.kw;
  const oBlocks = s.o / block;
  const [rows, source] = flipped
    ? [b.transpose(b.reshape(flipped, [s.c * s.o, k]), [1, 0]), (ob: number, ci: number, p: number) => ((k - 1 - p) * s.c + ci) * oBlocks + ob]
    : [b.transpose(b.reshape(w, [s.o, s.c * k]), [1, 0]), (ob: number, ci: number, p: number) => (ci * k + p) * oBlocks + ob];
  const key = `nchwc_weight_rows:${flipped ? 'flipped' : 'plain'}:${[s.o, s.c, s.kh, s.kw].join(',')}`;
  const order = b.sharedConstant(key, () => fromNumbers(DataType.INT32, [oBlocks * s.c * k], blockedRows(s.o, s.c, k, block, source)), 'nchwc_weight_rows');
  return b.reshape(b.op('Gather', [b.reshape(rows, [-1, block]), order], { axis: 0 }), [s.o, s.c, s.kh, s.kw]);
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
  const producers = g.producers();
  const result: Node[] = [];
  // The flips folded into a blocked weight's rows: dropped below where nothing else reads them.
  const folded = new Set<Node>();
  let blocked = 0;
  const reordered = new Map<string, { blocked: string; channels: number }>();
  for (const n of g.nodes.splice(0)) {
    const sizes = eligible(b, n, block);
    if (!sizes) {
      result.push(n);
      continue;
    }
    const { o, c } = sizes;
    const [x, w, bias] = n.inputs;
    const flip = flippedTransposeOf(b, producers, w, sizes);
    flip?.nodes.forEach((f) => folded.add(f));
    const weight = blockedWeight(b, w, sizes, block, flip?.source);
    const xb = c < block ? x : b.add('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN })[0];
    if (c >= block && !reordered.has(x)) reordered.set(x, { blocked: xb, channels: c });
    const attrs = new Map(n.attrs);
    attrs.set('kernel_shape', { kind: 'ints', value: [sizes.kh, sizes.kw] });
    const yb = b.add('Conv', bias ? [xb, weight, bias] : [xb, weight], attrs, { domain: NCHWC_DOMAIN, name: n.name })[0];
    // Shape inference knows no com.microsoft.nchwc operator: the Conv's output keeps its facts, so
    // that a Conv reading it directly is still found eligible.
    const facts = b.shapes.get(n.outputs[0]);
    b.add('ReorderOutput', [yb], { channels: o }, { domain: NCHWC_DOMAIN, outputs: [n.outputs[0]] });
    if (facts) b.shapes.set(n.outputs[0], facts);
    result.push(...g.nodes.splice(0));
    blocked++;
  }
  if (!blocked) return undefined;
  g.nodes = dropUnread(channelsLastFromBlocked(b, result, reordered), folded, new Set(g.outputs.map((v) => v.name)));
  g.otherOpsets = [...g.otherOpsets.filter((d) => d.domain !== NCHWC_DOMAIN), { domain: NCHWC_DOMAIN, version: 1 }];
  return g;
}

/**
 * Images of at most this many positions whose blocked form is kept for the backward pass: ResNet-18
 * 64²'s layers 1 and 2 (16×16, 8×8), 224²'s layers 3 and 4 (14×14, 7×7). Larger ones would keep
 * too much alive from the forward pass to the backward (at 224², 103 MB for layer 1's four
 * Convs), where the transpose they save costs 3.8 ms against ReorderOutput's 2.0.
 */
export const CHANNELS_LAST_FROM_BLOCKED_MAX_POSITIONS = 256;

/**
 * The weight gradient's im2col reads X in NHWC (autodiff/rules/conv.ts, windowRowsOf), moved there
 * by a Transpose that walks one float at a time; where the forward pass has X in NCHWc already, a
 * ReorderOutput with channels_last copies runs of B channels from it instead. Isolated, batch 32:
 * 64 channels at 16×16 0.57 → 0.15 ms, 128 at 8×8 0.30 → 0.07; the same values.
 */
function channelsLastFromBlocked(b: GraphBuilder, nodes: Node[], reordered: Map<string, { blocked: string; channels: number }>): Node[] {
  const made = new Set<string>();
  for (const n of nodes) {
    for (const o of n.outputs) made.add(o);
    const x = n.inputs[0];
    const source = n.op === 'Transpose' && n.domain === '' ? reordered.get(x) : undefined;
    if (!source || !made.has(source.blocked) || attrInts(n, 'perm')?.join() !== '0,2,3,1') continue;
    const positions = positionsOf(b, x);
    if (positions === undefined || positions > CHANNELS_LAST_FROM_BLOCKED_MAX_POSITIONS) continue;
    n.op = 'ReorderOutput';
    n.domain = NCHWC_DOMAIN;
    n.inputs = [source.blocked];
    n.attrs = new Map([['channels', { kind: 'int', value: source.channels }], ['channels_last', { kind: 'int', value: 1 }]]);
  }
  return nodes;
}
