// What onnxruntime-node does with an output fetched into a buffer we own (docs/PERFORMANCE.md,
// "Where the memory goes"): it writes the values there — in-place updates rely on it — and it
// still returns a new JavaScript buffer with a copy. If a release stops copying, this test fails
// and the memory analysis (and the runner, which ignores those copies) should be revisited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/trainer/onnx/graph';
import { serializeGraph } from '../../src/trainer/onnx/model';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { releaseCopies } from '../../src/trainer/programs/session';

test('onnxruntime-node writes a preallocated output in place and returns a copy of it', async () => {
  const g = new Graph();
  g.opset = 17;
  g.inputs = [{ name: 'p', type: DataType.FLOAT, shape: [4] }];
  g.outputs = [{ name: 'p_next', type: DataType.FLOAT, shape: [4] }];
  g.initializers.set('half', fromNumbers(DataType.FLOAT, [], [0.5]));
  g.nodes.push({ name: 'mul', op: 'Mul', domain: '', inputs: ['p', 'half'], outputs: ['p_next'], attrs: new Map() });
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const p = Float32Array.of(2, 4, 6, 8);
  const out = await session.run({ p: new ort.Tensor('float32', p, [4]) }, { p_next: new ort.Tensor('float32', p, [4]) });
  assert.deepEqual([...p], [1, 2, 3, 4], 'written into the buffer we passed');
  const returned = out.p_next.data as Float32Array;
  assert.deepEqual([...returned], [1, 2, 3, 4]);
  assert.notEqual(returned.buffer, p.buffer, 'and returned as a copy');
  await session.release();
});

test('releaseCopies frees the copies at once, and only those', async () => {
  const g = new Graph();
  g.opset = 17;
  g.inputs = [{ name: 'p', type: DataType.FLOAT, shape: [4] }];
  g.outputs = [{ name: 'p_next', type: DataType.FLOAT, shape: [4] }, { name: 'twice', type: DataType.FLOAT, shape: [4] }];
  g.initializers.set('half', fromNumbers(DataType.FLOAT, [], [0.5]));
  g.initializers.set('two', fromNumbers(DataType.FLOAT, [], [2]));
  g.nodes.push({ name: 'mul', op: 'Mul', domain: '', inputs: ['p', 'half'], outputs: ['p_next'], attrs: new Map() });
  g.nodes.push({ name: 'twice', op: 'Mul', domain: '', inputs: ['p', 'two'], outputs: ['twice'], attrs: new Map() });
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const p = Float32Array.of(2, 4, 6, 8);
  const out = await session.run({ p: new ort.Tensor('float32', p, [4]) }, { p_next: new ort.Tensor('float32', p, [4]), twice: null });
  releaseCopies(out, ['p_next']);
  assert.equal((out.p_next.data as Float32Array).buffer.byteLength, 0, 'the copy\'s memory is gone (ArrayBuffer.prototype.transfer)');
  assert.deepEqual([...p], [1, 2, 3, 4], 'the state buffer is untouched');
  assert.deepEqual([...(out.twice.data as Float32Array)], [4, 8, 12, 16], 'an output not named stays');
  await session.release();
});
