// Dropout masks come from the counter-based generator: the same key replays the same mask, other
// keys give other masks, the keep rate is 1 − ratio and kept values are scaled by 1/(1 − ratio).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { Graph } from '../../src/trainer/onnx/graph';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { toTrainingForm } from '../../src/trainer/programs/lowering';
import { keyOf, permutation, uniform } from '../../src/trainer/programs/random';
import { createSession } from '../../src/trainer/programs/session';

async function dropoutSession(ratio: number) {
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: ['n', 100] }, { name: 'key', type: DataType.UINT32, shape: [] });
  g.initializers.set('ratio', fromNumbers(DataType.FLOAT, [], [ratio]));
  g.initializers.set('training', { type: DataType.BOOL, dims: [], data: Uint8Array.of(1) });
  g.nodes.push({ name: 'drop', op: 'Dropout', domain: '', inputs: ['x', 'ratio', 'training'], outputs: ['y'], attrs: new Map() });
  g.nodes.push({ name: 'drop2', op: 'Dropout', domain: '', inputs: ['x', 'ratio', 'training'], outputs: ['y2'], attrs: new Map() });
  g.outputs.push({ name: 'y', type: DataType.FLOAT, shape: ['n', 100] }, { name: 'y2', type: DataType.FLOAT, shape: ['n', 100] });
  toTrainingForm(new GraphBuilder(g), 'key');
  assert.ok(!g.nodes.some((n) => n.op === 'Dropout'), 'Dropout replaced by the seeded mask');
  const session = await createSession(g);
  return async (key: number) => {
    const out = await session.run({
      x: new ort.Tensor('float32', new Float32Array(100 * 100).fill(1), [100, 100]),
      key: new ort.Tensor('uint32', Uint32Array.of(key), []),
    });
    return { y: out.y.data as Float32Array, y2: out.y2.data as Float32Array };
  };
}

test('the same key replays the same mask; another key gives another mask', async () => {
  const run = await dropoutSession(0.3);
  const a = await run(keyOf(42, 5, 0));
  const b = await run(keyOf(42, 5, 0));
  const c = await run(keyOf(42, 6, 0));
  assert.deepEqual(Array.from(a.y), Array.from(b.y));
  assert.notDeepEqual(Array.from(a.y), Array.from(c.y));
});

test('two Dropout nodes draw different masks from one step key', async () => {
  const run = await dropoutSession(0.5);
  const { y, y2 } = await run(123);
  assert.notDeepEqual(Array.from(y), Array.from(y2));
});

test('the keep rate is 1 − ratio and kept values are scaled by 1/(1 − ratio)', async () => {
  const run = await dropoutSession(0.3);
  const { y } = await run(99);
  const kept = Array.from(y).filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / y.length - 0.7) < 0.02, `keep rate ${kept.length / y.length}`);
  for (const v of kept) assert.ok(Math.abs(v - 1 / 0.7) < 1e-6);
});

test('the JavaScript generator is uniform and its permutations are seeded', () => {
  const n = 20000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += uniform(17, i);
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  const p = permutation(10, keyOf(42, 0));
  assert.deepEqual([...p].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(permutation(10, keyOf(42, 0)), p);
  assert.notDeepEqual(permutation(10, keyOf(42, 1)), p);
});
