// Callbacks fire in Hugging Face's order (reference §9.1); user modules can stop training;
// compute_metrics modules replace the built-in metrics; EarlyStoppingCallback stops on patience.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

const MODULES = path.join(FIXTURES, 'modules');

function dataDir(n: number) {
  const dir = tempDir('cb');
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ features: [Math.cos(i), Math.sin(i)], labels: i % 2 }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  return dir;
}

test('events fire in Hugging Face\'s order, accumulation windows and epoch-end evaluation included', () => {
  // 6 samples, batch 2, accumulation 2: windows of 2 + 1 micro-batches, 2 steps per epoch, 2 epochs.
  const dir = dataDir(6);
  const record = path.join(dir, 'events.txt');
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    callbacks: [path.join(MODULES, 'record_events.js')],
    training: {
      output_dir: 'out', num_train_epochs: 2, per_device_train_batch_size: 2, per_device_eval_batch_size: 4,
      gradient_accumulation_steps: 2, logging_steps: 2, eval_strategy: 'epoch', save_strategy: 'epoch',
    },
  });
  const r = runCli(['train', file], { env: { RECORD_EVENTS: record } });
  assert.equal(r.code, 0, r.stderr);
  const step = (s: number, partial: boolean) => [
    `on_step_begin ${s - 1}`, ...(partial ? [] : [`on_substep_end ${s - 1}`]), `on_pre_optimizer_step ${s - 1}`, `on_optimizer_step ${s - 1}`, `on_step_end ${s}`,
  ];
  const evaluate = (s: number) => [`on_prediction_step ${s}`, `on_prediction_step ${s}`, `on_log ${s}`, `on_evaluate ${s}`];
  const expected = [
    'on_init_end 0', 'on_train_begin 0',
    'on_epoch_begin 0', ...step(1, false), ...step(2, true), 'on_log 2', 'on_epoch_end 2', ...evaluate(2), 'on_save 2',
    'on_epoch_begin 2', ...step(3, false), ...step(4, true), 'on_log 4', 'on_epoch_end 4', ...evaluate(4), 'on_save 4',
    'on_log 4', 'on_train_end 4',
  ];
  assert.deepEqual(fs.readFileSync(record, 'utf8').trim().split('\n'), expected);
});

test('a class-style callback module stops training through the control object', () => {
  const dir = dataDir(8);
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl' },
    callbacks: [path.join(MODULES, 'stop_at_step.js')],
    training: { output_dir: 'out', max_steps: 10, per_device_train_batch_size: 2, logging_steps: 1, save_strategy: 'no' },
  });
  assert.equal(runCli(['train', file]).code, 0);
  assert.equal(readJson(path.join(dir, 'out', 'trainer_state.json')).global_step, 3);
});

test('a compute_metrics module replaces the built-in metrics, prefixed eval_', () => {
  const dir = dataDir(8);
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    compute_metrics: path.join(MODULES, 'metrics.mjs'),
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 4, eval_strategy: 'steps', eval_steps: 1, metric_for_best_model: 'my_accuracy', save_strategy: 'no' },
  });
  const r = runCli(['train', file]);
  assert.equal(r.code, 0, r.stderr);
  // trainer_log.jsonl keeps the entries' own key order (trainer_state.json sorts keys).
  const evals = fs.readFileSync(path.join(dir, 'out', 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => 'eval_loss' in e);
  assert.equal(evals.length, 2);
  for (const e of evals) {
    assert.deepEqual(Object.keys(e).slice(0, 3), ['eval_loss', 'eval_my_accuracy', 'eval_rows']);
    assert.equal(e.eval_rows, 8);
    assert.ok(!('eval_accuracy' in e));
  }
});

test('a callback module with a misspelled event is refused, with the likely name', () => {
  const dir = dataDir(4);
  fs.writeFileSync(path.join(dir, 'bad.js'), 'module.exports = { on_lgo() {} };\n');
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl' },
    callbacks: ['bad.js'],
    training: { output_dir: 'out', max_steps: 1 },
  });
  const r = runCli(['train', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.js: "on_lgo" is not a Trainer event; did you mean "on_log"\?/);
  assert.equal(fs.existsSync(path.join(dir, 'out')), false);
});

test('early stopping ends training after `patience` evaluations without improvement, and saves its counter', () => {
  const dir = dataDir(8);
  // A learning rate of 0 never improves the loss: the first evaluation sets the best, the next
  // two do not beat it, so training stops after step 3 of 20.
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    early_stopping: { patience: 2 },
    training: { output_dir: 'out', max_steps: 20, per_device_train_batch_size: 4, learning_rate: 0, eval_strategy: 'steps', eval_steps: 1, save_steps: 1, metric_for_best_model: 'loss' },
  });
  const r = runCli(['train', file]);
  assert.equal(r.code, 0, r.stderr);
  const state = readJson(path.join(dir, 'out', 'trainer_state.json'));
  assert.equal(state.global_step, 3);
  const saved = readJson(path.join(dir, 'out', 'checkpoint-3', 'trainer_state.json')) as { stateful_callbacks: Record<string, { attributes: Record<string, number> }> };
  assert.equal(saved.stateful_callbacks.EarlyStoppingCallback.attributes.early_stopping_patience_counter, 2);
});

test('early stopping without an evaluation strategy is a config error', () => {
  const dir = dataDir(4);
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', num_labels: 2 }, data: { train: 'train.jsonl' }, early_stopping: { patience: 2 },
    training: { output_dir: 'out', metric_for_best_model: 'loss' },
  });
  const r = runCli(['train', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /trainer\.yaml:\d+: early_stopping: needs an eval_strategy other than "no"/);
});

test('reduce_lr_on_plateau lowers the learning rate after `patience` evaluations without improvement', () => {
  const dir = dataDir(8);
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    training: {
      output_dir: 'out', max_steps: 6, per_device_train_batch_size: 8, learning_rate: 0.001, logging_steps: 1, save_strategy: 'no',
      eval_strategy: 'steps', eval_steps: 1, lr_scheduler_type: 'reduce_lr_on_plateau',
      // With a relative threshold of 50% only the first evaluation (against +∞) is an improvement.
      lr_scheduler_kwargs: { patience: 1, factor: 0.5, threshold: 0.5 },
    },
  });
  const r = runCli(['train', file]);
  assert.equal(r.code, 0, r.stderr);
  const lrs = (readJson(path.join(dir, 'out', 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e).map((e) => e.learning_rate);
  // Evaluations after steps 1..6: the first sets the best; bad counts 1, 2 → reduce after eval 3 and eval 5.
  assert.deepEqual(lrs, [0.001, 0.001, 0.001, 0.0005, 0.0005, 0.00025]);
});

test('auto_find_batch_size starts over with a batch 0.9× smaller after running out of memory', () => {
  const dir = dataDir(40);
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', num_train_epochs: 1, per_device_train_batch_size: 20, logging_steps: 1, save_strategy: 'no', auto_find_batch_size: true },
  });
  // Allocations fail (by fault injection) for batches of more than 16 samples: 20 → 18 → 16.
  const r = runCli(['train', file], { env: { TRAINER_FAULT_OOM_ABOVE_BATCH: '16' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /out of memory with batch size 20; retrying with 18/);
  assert.match(r.stderr, /out of memory with batch size 18; retrying with 16/);
  const state = readJson(path.join(dir, 'out', 'trainer_state.json'));
  assert.equal(state.train_batch_size, 16);
  assert.equal(state.global_step, 3);
});

test('without auto_find_batch_size, running out of memory is a failure (exit code 1)', () => {
  const dir = dataDir(40);
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', num_train_epochs: 1, per_device_train_batch_size: 20, save_strategy: 'no' },
  });
  const r = runCli(['train', file], { env: { TRAINER_FAULT_OOM_ABOVE_BATCH: '16' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Failed to allocate memory/);
});
