// Values that arrive in NHWC stay there through layout-agnostic operators (programs/channelsLast.ts):
// which readers run on the NHWC twin, where a value goes back to NCHW, when the rewrite is left
// out, and the same results from onnxruntime as the graph as compiled — on a small graph, and on
// the train step of a ResNet exported by PyTorch 2.13 (resnet_ts_train), trained three steps both
// ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, attrInts } from '../../src/trainer/onnx/graph';
import { loadModel, serializeGraph } from '../../src/trainer/onnx/model';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { keepChannelsLast, transposedElements } from '../../src/trainer/programs/channelsLast';
import { SMALL_IMAGE } from '../../src/trainer/autodiff/rules/conv';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { compileTrainPrograms } from '../../src/trainer/programs/executor';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { FIXTURES } from '../helpers';
import { SGD, maxDifference, trainSteps } from './sameTraining';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 12.9898 + seed) * 3);

/**
 * u [2, 2, 2, 8] (NHWC) → v = Transpose(u) (NCHW) → relu(v·a + b) → its batch mean, r − mean, the
 * pooled [N, C]; r − mean goes back to NHWC (a Transpose that cancels) and r is also read along
 * the channel axis by a Concat, and with an operand that varies over channels and rows, which no
 * twin can serve.
 */
function graph(): Graph {
  const g = new Graph();
  g.name = 'nhwc_region';
  g.opset = 18;
  g.inputs = [
    { name: 'u', type: DataType.FLOAT, shape: [2, 2, 2, 8] },
    { name: 'a', type: DataType.FLOAT, shape: [1, 8, 1, 1] },
    { name: 'b', type: DataType.FLOAT, shape: [8, 1, 1] },
    { name: 'per_row', type: DataType.FLOAT, shape: [1, 8, 2, 1] },
  ];
  g.initializers.set('image_axes', fromNumbers(DataType.INT64, [2], [2, 3]));
  g.initializers.set('stat_axes', fromNumbers(DataType.INT64, [3], [0, 2, 3]));
  g.outputs = ['centered_nhwc', 'pooled', 'both', 'count', 'by_row'].map((name) => ({ name, type: DataType.FLOAT, shape: undefined }));
  g.outputs[3].type = DataType.INT64;
  const node = (op: string, inputs: string[], out: string, attrs: [string, number | number[]][] = []) =>
    g.nodes.push({ name: `n_${out}`, op, domain: '', inputs, outputs: [out], attrs: new Map(attrs.map(([k, v]) => [k, Array.isArray(v) ? { kind: 'ints' as const, value: v } : { kind: 'int' as const, value: v }])) });
  node('Transpose', ['u'], 'v', [['perm', [0, 3, 1, 2]]]);
  node('Mul', ['v', 'a'], 'scaled');
  node('Add', ['scaled', 'b'], 'shifted');
  node('Relu', ['shifted'], 'r');
  node('ReduceMean', ['r', 'stat_axes'], 'mean', [['keepdims', 1]]);
  node('Sub', ['r', 'mean'], 'centered');
  node('Transpose', ['centered'], 'centered_nhwc', [['perm', [0, 2, 3, 1]]]);
  node('ReduceMean', ['r', 'image_axes'], 'pooled', [['keepdims', 0]]);
  node('Concat', ['r', 'r'], 'both', [['axis', 1]]);
  node('Size', ['r'], 'count');
  // Per channel and row: no reshape turns it into the twins' layout, so Add reads r in NCHW.
  node('Add', ['r', 'per_row'], 'by_row');
  return g;
}

async function run(g: Graph, feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const out = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, [...(t.data as Float32Array)].map(Number)]));
}

const transposes = (g: Graph) => g.nodes.filter((n) => n.op === 'Transpose');

test('after a Transpose to NCHW, elementwise readers and reductions run on the NHWC value; the Transpose back cancels; a Concat over channels and an operand by channel and row get the value transposed back', () => {
  const g = keepChannelsLast(graph())!;
  assert.ok(g, 'the rewrite applies');
  const byOutput = (name: string) => g.nodes.find((n) => n.outputs.includes(name));
  const out = byOutput('centered_nhwc')!;
  assert.equal(out.op, 'Identity', 'the Transpose back to NHWC cancels (an Identity names the graph output)');
  assert.equal(g.nodes.find((n) => n.outputs.includes(out.inputs[0]))?.op, 'Sub', 'it reads the NHWC twin of Sub');
  const mul = g.nodes.find((n) => n.op === 'Mul')!;
  assert.equal(mul.inputs[0], 'u', 'Mul reads the NHWC input itself');
  assert.equal(byOutput('pooled')?.inputs[0] === 'r', false, 'the pooling reads the twin');
  const back = transposes(g);
  assert.equal(back.length, 1, 'one Transpose left: r back to NCHW for the Concat and the Add by rows');
  assert.deepEqual(byOutput('by_row')?.inputs, ['r', 'per_row']);
  assert.deepEqual(attrInts(back[0], 'perm'), [0, 3, 1, 2]);
  assert.deepEqual(byOutput('both')?.inputs, ['r', 'r']);
  assert.equal(byOutput('r')?.op, 'Transpose');
});

test('onnxruntime computes the same results from the rewritten graph as from the graph as compiled', async () => {
  const feeds = {
    u: new ort.Tensor('float32', values(64, 1), [2, 2, 2, 8]),
    a: new ort.Tensor('float32', values(8, 2), [1, 8, 1, 1]),
    b: new ort.Tensor('float32', values(8, 3), [8, 1, 1]),
    per_row: new ort.Tensor('float32', values(16, 4), [1, 8, 2, 1]),
  };
  const expected = await run(graph(), feeds);
  const got = await run(keepChannelsLast(graph())!, feeds);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
  for (const [k, want] of Object.entries(expected)) {
    assert.equal(got[k].length, want.length, k);
    // The reductions add in another order: equal up to rounding.
    want.forEach((w, i) => assert.ok(Math.abs(got[k][i] - w) <= 1e-6 * Math.max(1, Math.abs(w)), `${k}[${i}]: ${got[k][i]} vs ${w}`));
  }
});

test('no rewrite where nothing would be transposed less (no Transpose to NCHW, or one only a graph output reads) or where images are larger than the small-image products\' limit', () => {
  const none = graph();
  none.nodes[0].attrs.set('perm', { kind: 'ints', value: [0, 2, 1, 3] });
  assert.equal(keepChannelsLast(none), undefined, 'no seed');
  const alone = new Graph();
  alone.opset = 18;
  alone.inputs = [{ name: 'u', type: DataType.FLOAT, shape: [2, 2, 2, 8] }];
  alone.outputs = [{ name: 'v', type: DataType.FLOAT, shape: undefined }];
  alone.nodes = [{ name: 't', op: 'Transpose', domain: '', inputs: ['u'], outputs: ['v'], attrs: new Map([['perm', { kind: 'ints', value: [0, 3, 1, 2] }]]) }];
  assert.equal(keepChannelsLast(alone), undefined, 'a seed that only a graph output reads');
  const large = graph();
  large.inputs[0].shape = [2, 8, 8, 8];
  large.inputs[3].shape = [1, 8, 8, 1];
  assert.equal(keepChannelsLast(large), undefined, `8×8 images, over SMALL_IMAGE (${SMALL_IMAGE}) positions`);
});

test('resnet_ts_train (PyTorch 2.13): the train step transposes fewer elements, and three SGD steps give the same losses and parameters with and without the rewrite', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'resnet_ts_train', 'model.onnx')));
  const loss = { problemType: 'single_label_classification' as const, numLabels: 3 };
  const programs = compileTrainPrograms(prepared, loss, false);
  const step = programs.get('step')!.graph;
  const rewritten = keepChannelsLast(step);
  assert.ok(rewritten, 'the rewrite applies to the step');
  const elements = (g: Graph) => transposedElements(new GraphBuilder(g), g.nodes);
  assert.ok(elements(rewritten) < elements(step), `${elements(rewritten)} elements transposed against ${elements(step)}`);
  // The activations the small-image products make stay NHWC: fewer of them go to NCHW.
  const toNchw = (g: Graph) => transposes(g).filter((n) => attrInts(n, 'perm')?.join() === '0,3,1,2' && new GraphBuilder(g).shapes.get(n.outputs[0])?.shape?.[0] === 'batch').length;
  assert.ok(toNchw(rewritten) < toNchw(step), `${toNchw(rewritten)} activations transposed to NCHW against ${toNchw(step)}`);
  const batch = new Map([
    ['pixel_values', fromNumbers(DataType.FLOAT, [4, 3, 32, 32], values(4 * 3 * 1024, 5))],
    ['labels', fromNumbers(DataType.INT64, [4], [0, 2, 1, 2])],
  ]);
  const train = async (channelsLast: boolean) => {
    const { out, state } = await trainSteps(prepared, loss, batch, { programs, channelsLast }, { optimizer: SGD, lr: 0.05, maxGradNorm: 0, randomKey: 0 });
    return { losses: out.map((r) => r.loss), state };
  };
  const plain = await train(false);
  const nhwc = await train(true);
  plain.losses.forEach((l, i) => assert.ok(Math.abs(nhwc.losses[i] - l) <= 1e-6 * Math.max(1, Math.abs(l)), `step ${i + 1}: ${nhwc.losses[i]} vs ${l}`));
  for (const [name, t] of plain.state.params) {
    const worst = maxDifference(t.data as Float32Array, nhwc.state.params.get(name)!.data as Float32Array);
    assert.ok(worst <= 1e-6, `${name}: ${worst}`);
  }
});
