// report_to: TensorBoard event files land in logging_dir (or output_dir/runs/<date>_<host>), and
// `report_to: none` writes none; the JSONL log is always written beside trainer_state.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, tempDir, writeConfig } from '../helpers';

function run(training: Record<string, unknown>) {
  const dir = tempDir('report');
  const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ features: [i / 8, 1 - i / 8], labels: i % 2 }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  const r = runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 4, logging_steps: 1, save_strategy: 'no', ...training },
  })]);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

test('TensorBoard events go to logging_dir when set', () => {
  const dir = run({ logging_dir: 'tb' });
  assert.ok(fs.readdirSync(path.join(dir, 'tb')).some((f) => f.startsWith('events.out.tfevents.')));
  assert.ok(!fs.existsSync(path.join(dir, 'out', 'runs')));
});

test('by default TensorBoard events go to output_dir/runs/<date>_<host>/', () => {
  const dir = run({});
  const runs = fs.readdirSync(path.join(dir, 'out', 'runs'));
  assert.equal(runs.length, 1);
  assert.match(runs[0], /^[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_/);
  assert.ok(fs.readdirSync(path.join(dir, 'out', 'runs', runs[0])).some((f) => f.startsWith('events.out.tfevents.')));
  const log = fs.readFileSync(path.join(dir, 'out', 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((e) => e.step), [1, 2, 2]);
});

test('report_to: none writes no TensorBoard files', () => {
  const dir = run({ report_to: 'none' });
  assert.ok(!fs.existsSync(path.join(dir, 'out', 'runs')));
});
