// The non-finite policy: a step whose loss or gradient norm is NaN or infinite stops the run
// (exit 1, naming the step) before anything poisoned is written, so the last good checkpoint
// stays the latest; nan_policy: skip_step leaves the weights unchanged instead and goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastCheckpoint } from '../../src/trainer/loop/checkpoints';
import { assertFiniteWeights } from '../../src/trainer/loop/nonFinite';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { FIXTURES, runCli, tempDir, writeConfig } from '../helpers';

function project(training: Record<string, unknown>, spoilData?: (lines: string[]) => string[]) {
  const dir = tempDir('nonfinite');
  const lines = fs.readFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), 'utf8').trim().split('\n');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), (spoilData ? spoilData(lines) : lines).join('\n') + '\n');
  const config = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 12, per_device_train_batch_size: 8, save_steps: 1, logging_steps: 1, report_to: 'none', ...training },
  });
  return { dir, config, out: path.join(dir, 'out') };
}

function allFinite(file: string): boolean {
  for (const t of readSafetensors(file).tensors.values()) if (!(t.data as Float32Array).every(Number.isFinite)) return false;
  return true;
}

// SGD with no clipping and a huge learning rate: the weights overflow within two steps.
const DIVERGING = { optim: 'sgd', learning_rate: 1e30, max_grad_norm: 0 };

test('a diverging run stops at the step whose loss is not finite, exit 1, keeping the last good checkpoint', () => {
  const { config, out } = project(DIVERGING);
  const r = runCli(['train', config]);
  assert.equal(r.code, 1, r.stderr);
  const message = r.stderr.trim().split('\n').at(-1)!;
  const m = /^error: step (\d+): the (loss|gradient norm) is (NaN|inf|-inf); training stopped before saving anything from it/.exec(message);
  assert.ok(m, message);
  const latest = lastCheckpoint(out)!;
  assert.equal(path.basename(latest), `checkpoint-${Number(m[1]) - 1}`);
  assert.ok(message.includes(path.basename(latest)), 'the message names the checkpoint to go back to');
  assert.ok(allFinite(path.join(latest, 'model.safetensors')), 'the latest checkpoint holds finite weights');
  assert.equal(fs.existsSync(path.join(out, 'model.onnx')), false, 'no final model');
});

test('nan_policy: skip_step skips the poisoned steps and ends with finite weights', () => {
  const { config, out } = project({ ...DIVERGING, nan_policy: 'skip_step' });
  const r = runCli(['train', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(allFinite(path.join(out, 'model.safetensors')));
  assert.ok(allFinite(path.join(lastCheckpoint(out)!, 'optimizer.safetensors')));
});

test('data whose values overflow float32 inside the model stops the run naming the step', () => {
  // 1e38 is a valid float32, but the first layer's products overflow to infinity.
  const { config, out } = project({}, (lines) => lines.map((l) => {
    const rec = JSON.parse(l);
    rec.features = rec.features.map((x: number) => x * 1e37);
    return JSON.stringify(rec);
  }));
  const r = runCli(['train', config]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr.trim(), /error: step 1: the (loss|gradient norm) is (NaN|inf); .*no checkpoint was written/);
  assert.equal(lastCheckpoint(out), undefined);
});

test('nan_policy accepts only stop or skip_step', () => {
  const { config } = project({ nan_policy: 'ignore' });
  const r = runCli(['train', config]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /training\.nan_policy: expected one of stop, skip_step/);
});

test('weights with a NaN are never written, whatever produced them', () => {
  const weights = new Map([['w', { type: 1, dims: [2], data: Float32Array.of(1, NaN) }]]) as Parameters<typeof assertFiniteWeights>[0];
  assert.throws(() => assertFiniteWeights(weights, 'checkpoint-3'), /not writing checkpoint-3: weight "w" holds NaN/);
});
