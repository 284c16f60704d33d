// When logs, evaluations and saves happen, and what log entries hold (reference §6, §9.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, runCli, tempDir, writeConfig } from '../helpers';

type Entry = Record<string, number>;

function run(training: Record<string, unknown>, extra: Record<string, unknown> = {}): { dir: string; history: Entry[]; log: Entry[]; code: number; stderr: string } {
  const dir = tempDir('logging');
  const lines = Array.from({ length: 14 }, (_, i) => JSON.stringify({ features: [Math.sin(i), Math.cos(2 * i)], labels: i % 2 }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  const r = runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [8], num_labels: 2 },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    training: { output_dir: 'out', per_device_train_batch_size: 2, learning_rate: 0.01, save_strategy: 'no', seed: 1, ...training },
    ...extra,
  })]);
  if (r.code !== 0) return { dir, history: [], log: [], code: r.code, stderr: r.stderr };
  const history = readJson(path.join(dir, 'out', 'trainer_state.json')).log_history as Entry[];
  const log = fs.readFileSync(path.join(dir, 'out', 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return { dir, history, log, code: r.code, stderr: r.stderr };
}

const trainSteps = (h: Entry[]) => h.filter((e) => 'loss' in e).map((e) => e.step);
const evalSteps = (h: Entry[]) => h.filter((e) => 'eval_loss' in e).map((e) => e.step);

test('logging_steps with logging_first_step logs at step 1 and every N; later steps only count in train_loss', () => {
  const { history } = run({ max_steps: 7, logging_steps: 3, logging_first_step: true });
  assert.deepEqual(trainSteps(history), [1, 3, 6]);
  const summary = history[history.length - 1];
  assert.deepEqual(Object.keys(summary).sort(), ['epoch', 'step', 'total_flos', 'train_loss', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second']);
  // 6 · (2 samples × 2 features) · 42 parameters per step (mlp 2-8-2), 7 steps.
  assert.equal(summary.total_flos, 6 * 4 * 42 * 7);
});

test('a logged loss is the mean of the step losses since the previous log', () => {
  const every = run({ max_steps: 6, logging_steps: 1 }).history.filter((e) => 'loss' in e);
  const third = run({ max_steps: 6, logging_steps: 3 }).history.filter((e) => 'loss' in e);
  const mean = (a: Entry[]) => a.reduce((s, e) => s + e.loss, 0) / a.length;
  assert.ok(Math.abs(third[0].loss - mean(every.slice(0, 3))) < 1e-12);
  assert.ok(Math.abs(third[1].loss - mean(every.slice(3, 6))) < 1e-12);
  assert.equal(third[1].grad_norm, every[5].grad_norm, 'grad_norm is the last step\'s, not an average');
  assert.equal(third[1].learning_rate, every[5].learning_rate);
});

test('logging_strategy epoch logs at each epoch end', () => {
  const { history } = run({ num_train_epochs: 2, logging_strategy: 'epoch' });
  assert.deepEqual(trainSteps(history), [7, 14]);
  assert.deepEqual(history.filter((e) => 'loss' in e).map((e) => e.epoch), [1, 2]);
});

test('eval_on_start evaluates at step 0; eval_delay holds evaluations back', () => {
  const { history } = run({ max_steps: 6, eval_strategy: 'steps', eval_steps: 1, eval_delay: 4, eval_on_start: true, logging_steps: 10 });
  assert.deepEqual(evalSteps(history), [0, 4, 5, 6]);
});

test('evaluation log entries hold eval_loss, the metrics, the speed figures, epoch and step, in that order', () => {
  const { log } = run({ max_steps: 2, eval_strategy: 'steps', eval_steps: 2, logging_steps: 10 });
  const entry = log.find((e) => 'eval_loss' in e)!;
  assert.deepEqual(Object.keys(entry), ['eval_loss', 'eval_accuracy', 'eval_f1', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second', 'epoch', 'step']);
});

test('the final step is evaluated when it is off the eval_steps grid (Hugging Face 5.x)', () => {
  const { history } = run({ max_steps: 5, eval_strategy: 'steps', eval_steps: 2, logging_steps: 10 });
  assert.deepEqual(evalSteps(history), [2, 4, 5]);
});

test('save_strategy best saves only when an evaluation sets a new best', () => {
  const { dir, history } = run({ max_steps: 8, eval_strategy: 'steps', eval_steps: 1, save_strategy: 'best', metric_for_best_model: 'loss', learning_rate: 1, logging_steps: 10 });
  const evals = history.filter((e) => 'eval_loss' in e);
  let best = Infinity;
  const expected: number[] = [];
  for (const e of evals) if (e.eval_loss < best) {
    best = e.eval_loss;
    expected.push(e.step);
  }
  const saved = fs.readdirSync(path.join(dir, 'out')).filter((n) => n.startsWith('checkpoint-')).map((n) => Number(n.slice(11))).sort((a, b) => a - b);
  assert.deepEqual(saved, expected);
  assert.ok(saved.length < evals.length, 'not every evaluation was a new best');
});

test('evaluation_strategy is accepted as the old name of eval_strategy', () => {
  const { history } = run({ max_steps: 2, evaluation_strategy: 'steps', eval_steps: 1, logging_steps: 10 });
  assert.deepEqual(evalSteps(history), [1, 2]);
});
