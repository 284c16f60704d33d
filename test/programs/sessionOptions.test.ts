// The onnxruntime options every session of ours gets (programs/session.ts): threads that do not
// spin between parallel sections (a train step's two sessions took the cores from each other),
// and the optimizers a caller turns off, both as session config entries onnxruntime accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/trainer/onnx/graph';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { createSession, ortSessionOptions } from '../../src/trainer/programs/session';

test('sessions run without spinning intra-op threads, and keep the optimizers a caller turns off', () => {
  const plain = ortSessionOptions('cpu', { threads: 2 });
  assert.deepEqual(plain.extra, { session: { intra_op: { allow_spinning: '0' } } });
  assert.equal(plain.intraOpNumThreads, 2);
  const recomputing = ortSessionOptions('cpu', { disabledOptimizers: ['CommonSubexpressionElimination'] });
  assert.deepEqual(recomputing.extra, {
    session: { intra_op: { allow_spinning: '0' } },
    optimization: { disable_specified_optimizers: 'CommonSubexpressionElimination' },
  });
});

test('onnxruntime accepts those options and runs a graph with two threads', async () => {
  const g = new Graph();
  g.opset = 17;
  g.inputs = [{ name: 'x', type: DataType.FLOAT, shape: [3] }];
  g.outputs = [{ name: 'y', type: DataType.FLOAT, shape: [3] }];
  g.initializers.set('two', fromNumbers(DataType.FLOAT, [], [2]));
  g.nodes.push({ name: 'mul', op: 'Mul', domain: '', inputs: ['x', 'two'], outputs: ['y'], attrs: new Map() });
  const session = await createSession(g, { threads: 2, disabledOptimizers: ['CommonSubexpressionElimination'] });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [3]) });
  assert.deepEqual([...(out.y.data as Float32Array)], [2, 4, 6]);
  await session.release();
});
