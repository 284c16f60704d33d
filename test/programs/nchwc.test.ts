// Convs with computed weights run in onnxruntime's blocked layout on the CPU (programs/nchwc.ts):
// each case compares the rewritten session with onnxruntime's own Conv on the same inputs, and
// says whether the rewrite applies. A wrong block size or weight layout gives wrong numbers here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { LARGE_IMAGE } from '../../src/trainer/autodiff/rules/conv';
import { buildCnn } from '../../src/trainer/models/vision';
import { Graph, attrInt } from '../../src/trainer/onnx/graph';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { compileTrainPrograms } from '../../src/trainer/programs/executor';
import { BLOCKED_MIN_POSITIONS, NCHWC_DOMAIN, blockConvs, nchwcBlockSize } from '../../src/trainer/programs/nchwc';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { createSession } from '../../src/trainer/programs/session';
import { SGD, maxDifference, trainSteps } from './sameTraining';

interface ConvCase {
  name: string;
  c: number;
  o: number;
  image: [number, number];
  kernel: [number, number];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  bias?: boolean;
  /** The weight as a constant initializer, which onnxruntime blocks by itself. */
  constantWeight?: boolean;
  /**
   * The weight as the stride-1 input gradient's: the flipped transpose of a fed [C, O, Kh, Kw]
   * tensor (autodiff/rules/conv.ts), which the rewrite folds into the blocked weight's rows.
   */
  flipped?: boolean;
  /** The flip's Slice with other starts / ends than a whole reversal: still correct, not folded. */
  flipSlice?: { starts: number[]; ends: number[] };
  blocked: boolean;
}

const CASES: ConvCase[] = [
  { name: '3×3, pads 1, bias', c: 32, o: 16, image: [10, 10], kernel: [3, 3], pads: [1, 1, 1, 1], bias: true, blocked: true },
  { name: 'stride 2, uneven pads', c: 16, o: 32, image: [17, 17], kernel: [3, 3], strides: [2, 2], pads: [0, 1, 1, 0], blocked: true },
  { name: 'dilation 2', c: 16, o: 16, image: [12, 12], kernel: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2], blocked: true },
  { name: '1×1, 64 output positions', c: 16, o: 48, image: [8, 8], kernel: [1, 1], bias: true, blocked: true },
  { name: 'fewer input channels than the block (an RGB stem, read unblocked)', c: 3, o: 32, image: [20, 20], kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3], bias: true, blocked: true },
  { name: 'channels not a multiple of the block', c: 20, o: 16, image: [10, 10], kernel: [3, 3], pads: [1, 1, 1, 1], blocked: false },
  { name: 'output smaller than BLOCKED_MIN_POSITIONS', c: 16, o: 16, image: [5, 5], kernel: [3, 3], pads: [1, 1, 1, 1], blocked: false },
  { name: 'constant weight', c: 16, o: 16, image: [10, 10], kernel: [3, 3], pads: [1, 1, 1, 1], constantWeight: true, blocked: false },
  { name: 'flipped transpose of a weight (an input gradient)', c: 32, o: 16, image: [9, 9], kernel: [3, 3], pads: [1, 1, 1, 1], flipped: true, blocked: true },
  { name: 'flipped transpose, 1×3 kernel', c: 16, o: 32, image: [8, 8], kernel: [1, 3], pads: [0, 2, 0, 2], flipped: true, blocked: true },
  { name: 'flipped transpose, fewer input channels than the block', c: 3, o: 16, image: [8, 8], kernel: [3, 3], pads: [2, 2, 2, 2], flipped: true, blocked: true },
  { name: 'a reversal that stops short of the kernel (ends -3 of 3): not folded', c: 16, o: 16, image: [9, 9], kernel: [3, 3], pads: [1, 1, 1, 1], flipped: true, flipSlice: { starts: [-1, -1], ends: [-3, -3] }, blocked: true },
  { name: 'a reversal from the second-to-last position: not folded', c: 16, o: 16, image: [9, 9], kernel: [3, 3], pads: [1, 1, 1, 1], flipped: true, flipSlice: { starts: [-2, -1], ends: [-10, -10] }, blocked: true },
];

function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, k) => Math.sin(k * 0.37 + seed) * 0.5);
}

function convGraph(k: ConvCase): { graph: Graph; feeds: Record<string, ort.Tensor> } {
  const graph = new Graph();
  graph.opset = 17;
  const x = [2, k.c, ...k.image];
  const w = [k.o, k.c, ...k.kernel];
  graph.inputs = [{ name: 'x', type: DataType.FLOAT, shape: x }];
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', Float32Array.from(values(x.reduce((a, d) => a * d), 1)), x) };
  const weight = values(w.reduce((a, d) => a * d), 2).map((v) => v / Math.sqrt(k.c));
  if (k.constantWeight) {
    graph.initializers.set('w', fromNumbers(DataType.FLOAT, w, weight));
  } else if (k.flipped) {
    const source = [k.c, k.o, ...k.kernel];
    graph.inputs.push({ name: 'w_source', type: DataType.FLOAT, shape: source });
    feeds.w_source = new ort.Tensor('float32', Float32Array.from(weight), source);
    const big = Number.MAX_SAFE_INTEGER;
    const slice = k.flipSlice ?? { starts: [-1, -1], ends: [-big, -big] };
    for (const [name, v] of [['starts', slice.starts], ['ends', slice.ends], ['axes', [2, 3]], ['steps', [-1, -1]]] as const) graph.initializers.set(name, fromNumbers(DataType.INT64, [2], [...v]));
    graph.nodes.push({ name: 'transpose', op: 'Transpose', domain: '', inputs: ['w_source'], outputs: ['w_t'], attrs: new Map([['perm', { kind: 'ints', value: [1, 0, 2, 3] }]]) });
    graph.nodes.push({ name: 'flip', op: 'Slice', domain: '', inputs: ['w_t', 'starts', 'ends', 'axes', 'steps'], outputs: ['w'], attrs: new Map() });
  } else {
    graph.inputs.push({ name: 'w', type: DataType.FLOAT, shape: w });
    feeds.w = new ort.Tensor('float32', Float32Array.from(weight), w);
  }
  if (k.bias) graph.initializers.set('b', fromNumbers(DataType.FLOAT, [k.o], values(k.o, 3)));
  const attrs = new Map<string, { kind: 'ints'; value: number[] }>();
  if (k.strides) attrs.set('strides', { kind: 'ints', value: k.strides });
  if (k.pads) attrs.set('pads', { kind: 'ints', value: k.pads });
  if (k.dilations) attrs.set('dilations', { kind: 'ints', value: k.dilations });
  graph.nodes.push({ name: 'conv', op: 'Conv', domain: '', inputs: k.bias ? ['x', 'w', 'b'] : ['x', 'w'], outputs: ['y'], attrs });
  graph.outputs = [{ name: 'y', type: DataType.FLOAT }];
  return { graph, feeds };
}

test('onnxruntime\'s NCHWc channel block is found on x86-64 CPUs', async () => {
  const block = await nchwcBlockSize();
  if (process.arch === 'x64') assert.ok(block === 8 || block === 16, `block ${block}`);
  else assert.ok(block === undefined || block > 1);
});

// Without NCHWc kernels (not x86-64) there is nothing to compare; on x86-64 the test above fails
// if they are not found.
const NO_KERNELS = 'onnxruntime has no NCHWc kernels on this CPU';

test('the flipped-weight input gradient starts where blocked Convs start', () => {
  assert.equal(LARGE_IMAGE, BLOCKED_MIN_POSITIONS);
});

for (const k of CASES) {
  test(`blocked Conv: ${k.name}`, async (t) => {
    const block = await nchwcBlockSize();
    if (!block) return t.skip(NO_KERNELS);
    const { graph, feeds } = convGraph(k);
    const rewritten = blockConvs(graph, block);
    assert.equal(rewritten !== undefined, k.blocked);
    if (rewritten) {
      assert.ok(rewritten.nodes.some((n) => n.domain === NCHWC_DOMAIN && n.op === 'Conv'));
      assert.ok(graph.nodes.every((n) => n.domain === ''), 'the caller\'s graph is not changed');
      if (k.flipped) assert.equal(rewritten.nodes.some((n) => n.op === 'Slice'), !!k.flipSlice, k.flipSlice ? 'a partial reversal stays a Slice' : 'the flip is folded into the weight\'s rows');
    }
    const plain = await createSession(graph, { blockedConvs: false });
    const fast = await createSession(graph);
    const expected = (await plain.run(feeds)).y.data as Float32Array;
    const actual = (await fast.run(feeds)).y.data as Float32Array;
    assert.ok(maxDifference(actual, expected) < 1e-5, `max difference ${maxDifference(actual, expected)}`);
    await plain.release();
    await fast.release();
  });
}

test('a CNN\'s train step gives the same losses and parameters with blocked Convs', async (t) => {
  assert.ok(BLOCKED_MIN_POSITIONS <= 64 && BLOCKED_MIN_POSITIONS > 25, 'the cases above sit on either side of the limit');
  const block = await nchwcBlockSize();
  if (!block) return t.skip(NO_KERNELS);
  // RGB 32×32 images: the first Conv reads its 3 channels unblocked; the Convs' outputs have 1024
  // and 256 positions, and the second's input gradient is a Conv too (stride 1, at least
  // LARGE_IMAGE positions).
  const graph = buildCnn({ inputName: 'pixel_values', sampleShape: [3, 32, 32], channels: [block, 2 * block], dropout: 0, numLabels: 3, seed: 7 });
  const prepared = prepareModel({ path: 'cnn.onnx', proto: {} as never, graph });
  const loss = { problemType: 'single_label_classification' as const, numLabels: 3 };
  const programs = compileTrainPrograms(prepared, loss, false);
  const rewritten = blockConvs(programs.get('step')!.graph, block)!;
  assert.ok(rewritten.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.op === 'Conv').length >= 3, 'forward Convs and an input gradient are blocked');
  const slices = (g: Graph) => g.nodes.filter((n) => n.op === 'Slice').length;
  assert.ok(slices(rewritten) < slices(programs.get('step')!.graph), 'the input gradient\'s flip is folded into its weight\'s rows');
  const channelsLast = rewritten.nodes.filter((n) => n.op === 'ReorderOutput' && attrInt(n, 'channels_last', 0) === 1);
  assert.equal(channelsLast.length, 1, 'the second Conv\'s weight gradient reads its 16×16 input in NHWC from the forward\'s blocked copy');
  assert.equal(rewritten.nodes.find((n) => n.outputs.includes(channelsLast[0].inputs[0]))?.op, 'ReorderInput');
  const batch = new Map([
    ['pixel_values', fromNumbers(DataType.FLOAT, [4, 3, 32, 32], values(4 * 3 * 1024, 4))],
    ['labels', fromNumbers(DataType.INT64, [4], [0, 2, 1, 2])],
  ]);
  // SGD: the update is the gradient itself. (Adam would turn the Conv biases' gradients, zero up to
  // rounding before BatchNorm, into steps of ±lr either way.)
  const run = async (blockedConvs: boolean) => {
    const { out, state } = await trainSteps(prepared, loss, batch, { programs, blockedConvs }, { optimizer: SGD, lr: 0.01, maxGradNorm: 0, randomKey: 0 });
    return { losses: out.map((r) => r.loss), state };
  };
  const plain = await run(false);
  const fast = await run(true);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(plain.losses[i] - fast.losses[i]) < 1e-5 * Math.max(1, Math.abs(plain.losses[i])), `step ${i + 1}: ${plain.losses[i]} vs ${fast.losses[i]}`);
  for (const [name, t] of plain.state.params) {
    assert.ok(maxDifference(fast.state.params.get(name)!.data as Float32Array, t.data as Float32Array) < 1e-5, name);
  }
});
