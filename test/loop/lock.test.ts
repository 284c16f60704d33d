// One writer per run directory: a second training run on a busy output_dir is refused; a lock
// left by a killed process is taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, ROOT, runCli, tempDir, writeConfig } from '../helpers';

test('a second run on an output_dir being written is refused; after a SIGKILL the lock is taken over', async () => {
  const dir = tempDir('lock');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [256, 256], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 100000, per_device_train_batch_size: 4, save_steps: 50, logging_steps: 100 },
  });
  const first = spawn(process.execPath, [path.join(ROOT, 'bin', 'onnx-trainer.js'), 'train', file], { stdio: 'ignore' });
  const lock = path.join(dir, 'out', '.trainer.lock');
  while (!fs.existsSync(lock) || !fs.existsSync(path.join(dir, 'out', 'checkpoint-50'))) await new Promise((r) => setTimeout(r, 50));
  assert.equal(fs.readFileSync(lock, 'utf8').trim(), String(first.pid));

  const second = runCli(['train', file, '--resume']);
  assert.equal(second.code, 2);
  assert.match(second.stderr, new RegExp(`out is being written by another training run \\(process ${first.pid}\\)`));

  first.kill('SIGKILL');
  await new Promise((r) => first.on('exit', r));
  assert.ok(fs.existsSync(lock), 'a killed process leaves its lock behind');
  const third = runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [256, 256], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 52, per_device_train_batch_size: 4, save_steps: 50, logging_steps: 100 },
  }, 'short.yaml'), '--resume']);
  assert.equal(third.code, 0, third.stderr);
  assert.ok(!fs.existsSync(lock), 'the lock is released at the end');
});
