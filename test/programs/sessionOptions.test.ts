// The onnxruntime options every session of ours gets (programs/session.ts): threads that do not
// spin between parallel sections unless the caller says the session runs alone (a train step's two
// sessions took the cores from each other), and the optimizers a caller turns off, both as session
// config entries onnxruntime accepts. Which train steps spin: the step's own sessions where AdamW's
// kernel updates every parameter, so that no optimizer program's session alternates with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/trainer/onnx/graph';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { createSession, ortSessionOptions } from '../../src/trainer/programs/session';
import { OptimizerRunner } from '../../src/trainer/programs/optimizerRunner';
import { trainStepSessionOptions } from '../../src/trainer/programs/executor';
import { OptimizerConfig } from '../../src/trainer/programs/optimizers';

test('sessions run without spinning intra-op threads unless asked, and keep the optimizers a caller turns off', () => {
  const plain = ortSessionOptions('cpu', { threads: 2 });
  assert.deepEqual(plain.extra, { session: { intra_op: { allow_spinning: '0' } } });
  assert.equal(plain.intraOpNumThreads, 2);
  assert.deepEqual(ortSessionOptions('cpu', { spinning: true }).extra, { session: { intra_op: { allow_spinning: '1' } } });
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

const adamw: OptimizerConfig = { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };

test('a train step spins only where AdamW\'s kernel updates every parameter (no optimizer program alternates with it)', () => {
  const f32 = [{ type: DataType.FLOAT, decay: true }, { type: DataType.FLOAT, decay: false }];
  assert.equal(OptimizerRunner.needsPrograms(adamw, f32, {}), false);
  assert.equal(OptimizerRunner.needsPrograms(adamw, f32, { optimizerKernel: false }), true, 'kernel turned off');
  assert.equal(OptimizerRunner.needsPrograms(adamw, [...f32, { type: DataType.DOUBLE, decay: true }], {}), true, 'a float64 parameter');
  assert.equal(OptimizerRunner.needsPrograms({ ...adamw, name: 'sgd' }, f32, {}), true, 'SGD runs as a program');
});

test('the train step\'s sessions spin with AdamW\'s kernel alone, and turn off common-subexpression elimination where the step recomputes forward values', () => {
  const params = [{ type: DataType.FLOAT, decay: true }];
  const plain = trainStepSessionOptions({ threads: 2 }, adamw, params, 0);
  assert.equal(plain.spinning, true);
  assert.deepEqual(plain.disabledOptimizers, []);
  assert.equal(plain.threads, 2);
  assert.equal(trainStepSessionOptions({}, { ...adamw, name: 'sgd' }, params, 0).spinning, false);
  assert.equal(trainStepSessionOptions({ optimizerKernel: false }, adamw, params, 0).spinning, false);
  assert.deepEqual(trainStepSessionOptions({ recompute: true }, adamw, params, 24).disabledOptimizers, ['CommonSubexpressionElimination']);
});
