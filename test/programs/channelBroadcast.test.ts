// Per-channel operands of elementwise arithmetic over small images are expanded before the op
// (programs/channelBroadcast.ts): which shapes qualify, one Expand per operand and shape, and the
// same bits out of onnxruntime as the graph as compiled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/trainer/onnx/graph';
import { serializeGraph } from '../../src/trainer/onnx/model';
import { DataType } from '../../src/trainer/onnx/tensor';
import { WIDEN_MAX_RUN, widenChannelBroadcasts, widenedShape } from '../../src/trainer/programs/channelBroadcast';

const SHAPES: { small: number[]; out: (number | string)[]; widened: number[] | undefined; why: string }[] = [
  { small: [1, 512, 1, 1], out: [32, 512, 2, 2], widened: [1, 512, 2, 2], why: 'batch norm at 2×2' },
  { small: [512, 1, 1], out: [32, 512, 4, 4], widened: [1, 512, 4, 4], why: 'a lower-rank operand, right-aligned' },
  { small: [1, 3, 1], out: [2, 3, 4], widened: [1, 3, 4], why: 'rank 3' },
  { small: [1, 128, 1, 1], out: [32, 128, 8, 8], widened: undefined, why: `a run of 64 elements, over ${WIDEN_MAX_RUN}` },
  { small: [1, 1, 1, 1], out: [32, 512, 2, 2], widened: undefined, why: 'a scalar: the run is the whole image' },
  { small: [], out: [32, 4], widened: undefined, why: 'a rank-0 scalar' },
  { small: [32, 512, 2, 2], out: [32, 512, 2, 2], widened: undefined, why: 'no broadcast' },
  { small: [32, 512, 1, 1], out: [32, 512, 2, 2], widened: undefined, why: 'widened, it would be as large as the output' },
  { small: [1, 512, 2, 1], out: [32, 512, 2, 2], widened: [1, 512, 2, 2], why: 'a run of one trailing axis' },
  { small: [1, 512, 1, 1], out: ['batch', 512, 2, 2], widened: [1, 512, 2, 2], why: 'a symbolic batch' },
  { small: [1, 512, 1, 1], out: [32, 512, 'h', 2], widened: undefined, why: 'a symbolic axis in the run' },
  { small: [1, 512, 1], out: ['batch', 512, 4], widened: [1, 512, 4], why: 'a symbolic batch, rank 3' },
];

for (const c of SHAPES) {
  test(`widenedShape ${JSON.stringify(c.small)} over ${JSON.stringify(c.out)}: ${c.widened ? JSON.stringify(c.widened) : 'kept'} (${c.why})`, () => {
    assert.deepEqual(widenedShape(c.small, c.out), c.widened);
  });
}

function graph(): Graph {
  const g = new Graph();
  g.name = 'bn_like';
  g.opset = 17;
  g.inputs = [
    { name: 'x', type: DataType.FLOAT, shape: [3, 8, 2, 2] },
    { name: 'a', type: DataType.FLOAT, shape: [1, 8, 1, 1] },
    { name: 'big', type: DataType.FLOAT, shape: [3, 8, 8, 8] },
    { name: 'c', type: DataType.FLOAT, shape: [1, 8, 1, 1] },
  ];
  g.outputs = ['y1', 'y2', 'y3', 'y4', 'y5'].map((name) => ({ name, type: DataType.FLOAT, shape: [] }));
  const node = (op: string, inputs: string[], out: string) => g.nodes.push({ name: out, op, domain: '', inputs, outputs: [out], attrs: new Map() });
  node('Mul', ['x', 'a'], 'y1');
  node('Sub', ['a', 'x'], 'y2');
  node('Div', ['y1', 'a'], 'y3');
  node('Add', ['big', 'c'], 'y4');
  node('Add', ['a', 'c'], 'y5');
  return g;
}

test('each small per-channel operand is expanded once, before its first reader; large images and same-shape operands keep the plain op', () => {
  const g = widenChannelBroadcasts(graph())!;
  assert.ok(g);
  const expands = g.nodes.filter((n) => n.op === 'Expand');
  assert.equal(expands.length, 1, 'a is expanded once for its three readers');
  assert.equal(expands[0].inputs[0], 'a');
  const wide = expands[0].outputs[0];
  const reads = (out: string) => g.nodes.find((n) => n.outputs[0] === out)!.inputs;
  assert.deepEqual(reads('y1'), ['x', wide]);
  assert.deepEqual(reads('y2'), [wide, 'x']);
  assert.deepEqual(reads('y3'), ['y1', wide]);
  assert.deepEqual(reads('y4'), ['big', 'c'], '8×8 images: a run of 64');
  assert.deepEqual(reads('y5'), ['a', 'c'], 'no broadcast');
  assert.ok(g.nodes.indexOf(expands[0]) < g.nodes.findIndex((n) => n.outputs[0] === 'y1'));
  assert.equal(widenChannelBroadcasts(g), undefined, 'nothing left to widen');
});

test('onnxruntime computes the same bits from the widened graph as from the graph as compiled', async () => {
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 12.9898 + seed) * 3);
  const feeds = {
    x: new ort.Tensor('float32', values(96, 1), [3, 8, 2, 2]),
    a: new ort.Tensor('float32', values(8, 2), [1, 8, 1, 1]),
    big: new ort.Tensor('float32', values(1536, 3), [3, 8, 8, 8]),
    c: new ort.Tensor('float32', values(8, 4), [1, 8, 1, 1]),
  };
  const run = async (g: Graph) => {
    const session = await ort.InferenceSession.create(serializeGraph(g));
    const out = await session.run(feeds);
    await session.release();
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, [...(t.data as Float32Array)]]));
  };
  assert.deepEqual(await run(widenChannelBroadcasts(graph())!), await run(graph()));
});
