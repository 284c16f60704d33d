// Gradient accumulation over N micro-batches gives the same update as one batch N times larger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { FIXTURES, copyFixture, readJson, runCli, tempDir, writeConfig } from '../helpers';

function train(dir: string, out: string, batch: number, accumulation: number) {
  const r = runCli(['train', writeConfig(dir, {
    model: { path: 'model.onnx', num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: {
      output_dir: out, num_train_epochs: 4, per_device_train_batch_size: batch, gradient_accumulation_steps: accumulation,
      learning_rate: 0.01, weight_decay: 0.01, logging_steps: 1, save_strategy: 'no', seed: 3,
    },
  }, `${out}.yaml`)]);
  assert.equal(r.code, 0, r.stderr);
  const logs = (readJson(path.join(dir, out, 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e);
  return { logs, weights: readSafetensors(path.join(dir, out, 'model.safetensors')).tensors };
}

test('4 micro-batches of 6 accumulate to the update of one batch of 24', () => {
  const dir = tempDir('accum');
  copyFixture(path.join(FIXTURES, 'parity', 'mlp'), dir);
  const big = train(dir, 'big', 24, 1);
  const micro = train(dir, 'micro', 6, 4);
  assert.equal(micro.logs.length, 4);
  micro.logs.forEach((e, i) => {
    const b = big.logs[i];
    assert.equal(e.step, b.step);
    assert.equal(e.epoch, b.epoch);
    assert.ok(Math.abs(e.loss - b.loss) < 1e-5 * b.loss, `step ${e.step}: loss ${e.loss} vs ${b.loss}`);
    assert.ok(Math.abs(e.grad_norm - b.grad_norm) < 1e-5 * b.grad_norm, `step ${e.step}: grad_norm ${e.grad_norm} vs ${b.grad_norm}`);
  });
  for (const [name, t] of big.weights) {
    const m = micro.weights.get(name)!.data as Float32Array;
    (t.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - m[i]) < 1e-5, `${name}[${i}]: ${v} vs ${m[i]}`));
  }
});

test('a partial last window (L mod GA ≠ 0) is one optimizer step, and epochs count micro-batches', () => {
  // 21 samples, batch 2, GA 4: L = 11 micro-batches, windows of 4 + 4 + 3, T = 6 over 2 epochs.
  const dir = tempDir('accum21');
  copyFixture(path.join(FIXTURES, 'parity', 'mlp'), dir);
  const lines = fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').slice(0, 21);
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  const r = runCli(['train', writeConfig(dir, {
    model: { path: 'model.onnx', num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', num_train_epochs: 2, per_device_train_batch_size: 2, gradient_accumulation_steps: 4, logging_steps: 1, save_strategy: 'no' },
  })]);
  assert.equal(r.code, 0, r.stderr);
  const state = readJson(path.join(dir, 'out', 'trainer_state.json')) as { global_step: number; max_steps: number; log_history: Record<string, number>[] };
  assert.equal(state.global_step, 6);
  assert.equal(state.max_steps, 6);
  const epochs = state.log_history.filter((e) => 'loss' in e).map((e) => Number(e.epoch.toFixed(4)));
  assert.deepEqual(epochs, [0.3636, 0.7273, 1, 1.3636, 1.7273, 2]);
});
