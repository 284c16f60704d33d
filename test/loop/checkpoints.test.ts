// Checkpoints: rotation keeps the best, load_best_model_at_end loads it, and resume refuses
// incomplete checkpoints and checkpoints of another model, naming the file that is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rotateCheckpoints } from '../../src/trainer/loop/checkpoints';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

function fakeRun(steps: number[]): string {
  const out = tempDir('rotate');
  for (const s of steps) fs.mkdirSync(path.join(out, `checkpoint-${s}`));
  return out;
}

const left = (out: string) => fs.readdirSync(out).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));

test('save_total_limit keeps the newest checkpoints and never deletes the best one', () => {
  const out = fakeRun([1, 2, 3, 4, 5, 6]);
  rotateCheckpoints(out, 3, path.join(out, 'checkpoint-1'));
  assert.deepEqual(left(out), ['checkpoint-1', 'checkpoint-5', 'checkpoint-6']);
});

test('with a limit of 1 and a best that is not the newest, two checkpoints remain', () => {
  const out = fakeRun([1, 2, 3]);
  rotateCheckpoints(out, 1, path.join(out, 'checkpoint-1'));
  assert.deepEqual(left(out), ['checkpoint-1', 'checkpoint-3']);
});

test('without a best checkpoint, rotation is by age alone', () => {
  const out = fakeRun([2, 4, 6, 8]);
  rotateCheckpoints(out, 2, null);
  assert.deepEqual(left(out), ['checkpoint-6', 'checkpoint-8']);
});

function mlpRun(extra: Record<string, unknown>, model: Record<string, unknown> = {}) {
  const dir = tempDir('ckpt');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const file = (out: string, m = model) => writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 3, ...m },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    training: { output_dir: out, max_steps: 6, per_device_train_batch_size: 8, logging_steps: 1, learning_rate: 0.05, ...extra },
  }, `${out}.yaml`);
  return { dir, file };
}

test('load_best_model_at_end writes the best checkpoint\'s weights as the final model', () => {
  // A learning rate this high makes the loss bounce, so the best is not simply the last step.
  const { dir, file } = mlpRun({ eval_strategy: 'steps', eval_steps: 1, save_steps: 1, load_best_model_at_end: true, learning_rate: 2 });
  const r = runCli(['train', file('out')]);
  assert.equal(r.code, 0, r.stderr);
  const state = readJson(path.join(dir, 'out', 'trainer_state.json')) as { best_model_checkpoint: string; best_metric: number; best_global_step: number; log_history: Record<string, number>[] };
  const evals = state.log_history.filter((e) => 'eval_loss' in e);
  const best = evals.reduce((a, b) => (b.eval_loss < a.eval_loss ? b : a));
  assert.equal(state.best_metric, best.eval_loss);
  assert.equal(state.best_global_step, best.step);
  assert.equal(path.basename(state.best_model_checkpoint), `checkpoint-${best.step}`);
  const final = readSafetensors(path.join(dir, 'out', 'model.safetensors')).tensors;
  const chosen = readSafetensors(path.join(state.best_model_checkpoint, 'model.safetensors')).tensors;
  for (const [k, t] of chosen) assert.deepEqual(Array.from(final.get(k)!.data as Float32Array), Array.from(t.data as Float32Array), k);
});

test('resume refuses an incomplete checkpoint, naming the missing file', () => {
  const { dir, file } = mlpRun({ save_steps: 2 });
  assert.equal(runCli(['train', file('out')]).code, 0);
  fs.rmSync(path.join(dir, 'out', 'checkpoint-4', 'scheduler.json'));
  const r = runCli(['train', file('out'), '--resume', path.join(dir, 'out', 'checkpoint-4')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /checkpoint-4[/\\]scheduler\.json: missing; the checkpoint is incomplete/);
});

test('resume refuses a checkpoint from a different model, naming the file and the tensor', () => {
  const { dir, file } = mlpRun({ save_steps: 2 });
  assert.equal(runCli(['train', file('out')]).code, 0);
  const r = runCli(['train', file('other', { hidden_sizes: [8] }), '--resume', path.join(dir, 'out', 'checkpoint-2')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /checkpoint-2[/\\]model\.safetensors: tensor "fc1\.weight" has shape \[16,20\], the model needs \[8,20\]; the checkpoint is from a different model/);
  assert.equal(fs.existsSync(path.join(dir, 'other')), false, 'nothing written for the refused run');
});

test('a checkpoint holds the inference-ready model, optimizer, scheduler, random state, trainer state and arguments', () => {
  const { dir, file } = mlpRun({ save_steps: 3 });
  assert.equal(runCli(['train', file('out')]).code, 0);
  const files = fs.readdirSync(path.join(dir, 'out', 'checkpoint-3')).sort();
  assert.deepEqual(files, ['config.json', 'model.onnx', 'model.safetensors', 'optimizer.safetensors', 'rng_state.json', 'scheduler.json', 'trainer_state.json', 'training_args.json']);
  const opt = readSafetensors(path.join(dir, 'out', 'checkpoint-3', 'optimizer.safetensors')).tensors;
  assert.ok(opt.has('fc1.weight.exp_avg') && opt.has('fc1.weight.exp_avg_sq'));
  const args = readJson(path.join(dir, 'out', 'checkpoint-3', 'training_args.json'));
  assert.equal(args.learning_rate, 0.05);
});

test('a new run refuses an output_dir that holds an earlier run, leaving it untouched', () => {
  const { dir, file } = mlpRun({ save_steps: 2 });
  assert.equal(runCli(['train', file('out')]).code, 0);
  const before = fs.readdirSync(path.join(dir, 'out')).sort();
  const stamp = fs.statSync(path.join(dir, 'out', 'checkpoint-6', 'model.safetensors')).mtimeMs;
  const r = runCli(['train', file('out')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /training\.output_dir: .*out already holds a run \(checkpoint-2, checkpoint-4, checkpoint-6\); resume it \(--resume\), choose another output_dir, or set overwrite_output_dir: true/);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'out')).sort(), before);
  assert.equal(fs.statSync(path.join(dir, 'out', 'checkpoint-6', 'model.safetensors')).mtimeMs, stamp);
});

test('overwrite_output_dir starts over, removing the earlier run\'s checkpoints', () => {
  const { dir, file } = mlpRun({ save_steps: 2 });
  assert.equal(runCli(['train', file('out')]).code, 0);
  const { file: again } = { file: () => writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 3, per_device_train_batch_size: 8, save_steps: 3, overwrite_output_dir: true },
  }, 'again.yaml') };
  const r = runCli(['train', again()]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'out')).filter((n) => n.startsWith('checkpoint-')), ['checkpoint-3']);
});
