// Resume is exact: a run resumed from any checkpoint logs the same losses, learning rates and
// grad norms — bit for bit — as the run that never stopped, and ends with the same weights.
// Shuffling, dropout and gradient accumulation are all on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

interface State { log_history: Record<string, number>[]; global_step: number }

function setup() {
  const dir = tempDir('resume');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const config = (out: string) => writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], dropout: 0.2, num_labels: 3 },
    data: { train: 'train.jsonl' },
    callbacks: [path.join(FIXTURES, 'modules', 'record_events.js')],
    // 24 samples, batch 4, accumulation 2: 6 micro-batches and 3 steps per epoch, 9 steps.
    training: {
      output_dir: out, num_train_epochs: 3, per_device_train_batch_size: 4, gradient_accumulation_steps: 2,
      learning_rate: 0.01, lr_scheduler_type: 'cosine', warmup_steps: 2, logging_steps: 1, save_steps: 1, seed: 7,
    },
  }, `${out}.yaml`);
  const full = config('full');
  const r = runCli(['train', full], { env: { RECORD_EVENTS: path.join(dir, 'full.events') } });
  assert.equal(r.code, 0, r.stderr);
  return { dir, config };
}

function resumeFrom(dir: string, config: (out: string) => string, step: number, name: string) {
  const out = path.join(dir, name);
  fs.mkdirSync(out);
  fs.cpSync(path.join(dir, 'full', `checkpoint-${step}`), path.join(out, `checkpoint-${step}`), { recursive: true });
  const r = runCli(['train', config(name), '--resume', path.join(out, `checkpoint-${step}`)], { env: { RECORD_EVENTS: `${out}.events` } });
  assert.equal(r.code, 0, r.stderr);
  assertTrainedOnlyAfter(out, step);
  return out;
}

/**
 * The resumed process trained only the steps after the checkpoint (it did not retrain), and its
 * JSONL log holds the whole history, as trainer_state.json does.
 */
function assertTrainedOnlyAfter(out: string, step: number) {
  const ended = fs.readFileSync(`${out}.events`, 'utf8').trim().split('\n').filter((l) => l.startsWith('on_step_end ')).map((l) => Number(l.split(' ')[1]));
  assert.deepEqual(ended, Array.from({ length: 9 - step }, (_, i) => step + 1 + i));
  const lines = fs.readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((e) => 'loss' in e).map((e) => e.step), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

function compareRuns(dir: string, resumed: string) {
  const a = readJson(path.join(dir, 'full', 'trainer_state.json')) as unknown as State;
  const b = readJson(path.join(resumed, 'trainer_state.json')) as unknown as State;
  const train = (s: State) => s.log_history.filter((e) => 'loss' in e);
  assert.equal(b.global_step, a.global_step);
  assert.deepEqual(train(b), train(a), 'every training log entry equal, bit for bit');
  const summary = (s: State) => s.log_history.find((e) => 'train_loss' in e)!;
  assert.equal(summary(b).train_loss, summary(a).train_loss, 'train_loss equal too (Hugging Face issue #12942)');
  const wa = readSafetensors(path.join(dir, 'full', 'model.safetensors')).tensors;
  const wb = readSafetensors(path.join(resumed, 'model.safetensors')).tensors;
  for (const [name, t] of wa) assert.deepEqual(Array.from(wb.get(name)!.data as Float32Array), Array.from(t.data as Float32Array), name);
}

test('resuming mid-epoch (step 4 of 9, epoch 1⅓) replays the uninterrupted run exactly', () => {
  const { dir, config } = setup();
  compareRuns(dir, resumeFrom(dir, config, 4, 'mid'));
});

test('resuming at an epoch boundary (step 6, epoch 2.0) replays the uninterrupted run exactly', () => {
  const { dir, config } = setup();
  compareRuns(dir, resumeFrom(dir, config, 6, 'boundary'));
});

test('--resume without a folder takes the latest complete checkpoint', () => {
  const { dir, config } = setup();
  const out = path.join(dir, 'latest');
  fs.mkdirSync(out);
  for (const s of [2, 5]) fs.cpSync(path.join(dir, 'full', `checkpoint-${s}`), path.join(out, `checkpoint-${s}`), { recursive: true });
  // An incomplete newer checkpoint (no optimizer state) is passed over.
  fs.cpSync(path.join(dir, 'full', 'checkpoint-7'), path.join(out, 'checkpoint-7'), { recursive: true });
  fs.rmSync(path.join(out, 'checkpoint-7', 'optimizer.safetensors'));
  const r = runCli(['train', config('latest'), '--resume'], { env: { RECORD_EVENTS: `${out}.events` } });
  assert.equal(r.code, 0, r.stderr);
  const state = readJson(path.join(out, 'trainer_state.json')) as unknown as State;
  const first = state.log_history.filter((e) => 'loss' in e).map((e) => e.step);
  assert.deepEqual(first, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertTrainedOnlyAfter(out, 5);
  compareRuns(dir, out);
});

test('resuming a run that reached max_steps trains nothing more, keeps the model and exits 0 saying so', () => {
  const dir = tempDir('resume-finished');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const config = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 4, per_device_train_batch_size: 8, save_steps: 2, logging_steps: 1, report_to: 'none' },
  });
  assert.equal(runCli(['train', config]).code, 0);
  const weights = fs.readFileSync(path.join(dir, 'out', 'model.safetensors'));
  for (let i = 0; i < 2; i++) {
    const r = runCli(['train', config, '--resume']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing to train: the run had already reached max_steps \(4\)/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'out')).filter((n) => n.startsWith('checkpoint-')).sort(), ['checkpoint-2', 'checkpoint-4']);
    assert.equal((readJson(path.join(dir, 'out', 'trainer_state.json')) as unknown as State).global_step, 4);
    assert.ok(fs.readFileSync(path.join(dir, 'out', 'model.safetensors')).equals(weights), 'the final model is unchanged');
  }
});
