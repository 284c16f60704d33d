// TrainingArguments that change what a run does: label smoothing, data_seed, save_only_model,
// resume_from_checkpoint in the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

function setup() {
  const dir = tempDir('args');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'model.onnx'), path.join(dir, 'model.onnx'));
  return dir;
}

function config(dir: string, name: string, training: Record<string, unknown>) {
  return writeConfig(dir, {
    model: { path: 'model.onnx', num_labels: 3 },
    data: { train: 'train.jsonl', eval: 'train.jsonl', test: 'train.jsonl' },
    training: { output_dir: name, max_steps: 4, per_device_train_batch_size: 8, logging_steps: 1, save_strategy: 'no', ...training },
  }, `${name}.yaml`);
}

test('label_smoothing_factor gives Hugging Face\'s smoothed cross-entropy: (1 − ε)·NLL + ε·mean(−log p)', () => {
  const dir = setup();
  // Evaluate the untrained fixture model: logits from predict, loss from evaluate.
  const file = config(dir, 'smooth', { label_smoothing_factor: 0.1, max_steps: 1, learning_rate: 0 });
  assert.equal(runCli(['train', file]).code, 0);
  const e = runCli(['evaluate', file]);
  assert.equal(e.code, 0, e.stderr);
  const loss = JSON.parse(e.stdout).eval_loss;
  assert.equal(runCli(['predict', file]).code, 0);
  const rows = fs.readFileSync(path.join(dir, 'smooth', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  let nll = 0;
  let uniform = 0;
  for (const r of rows) {
    const max = Math.max(...r.logits);
    const logZ = max + Math.log(r.logits.reduce((s: number, v: number) => s + Math.exp(v - max), 0));
    const logp = r.logits.map((v: number) => v - logZ);
    nll -= logp[r.label];
    uniform -= logp.reduce((s: number, v: number) => s + v, 0) / logp.length;
  }
  const expected = 0.9 * (nll / rows.length) + 0.1 * (uniform / rows.length);
  assert.ok(Math.abs(loss - expected) < 1e-5, `${loss} vs ${expected}`);
});

test('data_seed changes the data order but not the initialization', () => {
  const dir = setup();
  const lossesFor = (name: string, extra: Record<string, unknown>) => {
    assert.equal(runCli(['train', config(dir, name, { per_device_train_batch_size: 4, ...extra })]).code, 0);
    return (readJson(path.join(dir, name, 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e).map((e) => e.loss);
  };
  const a = lossesFor('a', { data_seed: 1 });
  const b = lossesFor('b', { data_seed: 2 });
  const c = lossesFor('c', { data_seed: 1 });
  assert.notDeepEqual(a, b);
  assert.deepEqual(a, c);
});

test('save_only_model checkpoints hold the model alone, and resume refuses them', () => {
  const dir = setup();
  const file = config(dir, 'only', { save_strategy: 'steps', save_steps: 2, save_only_model: true });
  assert.equal(runCli(['train', file]).code, 0);
  const files = fs.readdirSync(path.join(dir, 'only', 'checkpoint-2')).sort();
  assert.deepEqual(files, ['config.json', 'model.onnx', 'model.safetensors', 'trainer_state.json', 'training_args.json']);
  const r = runCli(['train', file, '--resume', path.join(dir, 'only', 'checkpoint-2')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /checkpoint-2[/\\]optimizer\.safetensors: missing; the checkpoint is incomplete \(saved with save_only_model, or cut short\)/);
});

test('resume_from_checkpoint: true in the config resumes from the latest checkpoint', () => {
  const dir = setup();
  assert.equal(runCli(['train', config(dir, 'run', { save_strategy: 'steps', save_steps: 2, max_steps: 2 })]).code, 0);
  const r = runCli(['train', config(dir, 'run', { save_strategy: 'steps', save_steps: 2, max_steps: 4, resume_from_checkpoint: true })]);
  assert.equal(r.code, 0, r.stderr);
  const log = fs.readFileSync(path.join(dir, 'run', 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // The first run logged steps 1–2; the resumed one appends 3–4.
  assert.deepEqual(log.filter((e) => 'loss' in e).map((e) => e.step), [1, 2, 3, 4]);
});
