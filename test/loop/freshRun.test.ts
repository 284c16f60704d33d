// A fresh run in an output_dir (one killed before its first checkpoint, or overwrite_output_dir)
// starts its own trainer_log.jsonl instead of appending to the earlier run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, tempDir, writeConfig } from '../helpers';

function project(training: Record<string, unknown>) {
  const dir = tempDir('fresh-log');
  const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ features: [Math.sin(i), Math.cos(i)], labels: i % 2 }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  const config = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 3, per_device_train_batch_size: 4, logging_steps: 1, report_to: 'none', ...training },
  });
  return { dir, config, log: path.join(dir, 'out', 'trainer_log.jsonl') };
}

const logged = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

test('a fresh run after one killed before its first checkpoint starts a new trainer_log.jsonl', () => {
  const { dir, config, log } = project({ save_strategy: 'no' });
  fs.mkdirSync(path.join(dir, 'out'));
  // What a killed run leaves: log lines and no checkpoint.
  fs.writeFileSync(log, '{"loss":9,"step":1}\n{"loss":8,"step":2}\n');
  const r = runCli(['train', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(logged(log).map((e) => e.step), [1, 2, 3, 3]);
  assert.ok(logged(log).every((e) => e.loss !== 9 && e.loss !== 8));
});

test('overwrite_output_dir starts a new trainer_log.jsonl', () => {
  const { config, log } = project({ save_steps: 1, overwrite_output_dir: true });
  assert.equal(runCli(['train', config]).code, 0);
  assert.equal(runCli(['train', config]).code, 0);
  assert.deepEqual(logged(log).map((e) => e.step), [1, 2, 3, 3]);
});
