// One writer per run directory: a second training run on a busy output_dir is refused; a lock
// left by a killed process is taken over, even when its pid was reused or is the run's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { lockRunDirectory } from '../../src/trainer/loop/lock';
import { LOCK_FILE, processStartTime, readLock } from '../../src/trainer/runDirectory';
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
  assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, first.pid);

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

/** A live process that is not this one: `sleep`, killed when the test ends. */
function liveProcess(t: { after: (fn: () => void) => void }): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  return child.pid!;
}

test('the lock records the writer\'s pid, process start time and host', (t) => {
  const out = path.join(tempDir('lock-record'), 'out');
  const unlock = lockRunDirectory(out);
  t.after(unlock);
  const holder = readLock(path.join(out, LOCK_FILE))!;
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.host, os.hostname());
  if (process.platform === 'linux') assert.match(holder.startTime ?? '', /^\d+$/);
});

test('a lock whose pid now belongs to a process started at another time is stale and taken over', (t) => {
  if (process.platform !== 'linux') return;
  const out = path.join(tempDir('lock-reused'), 'out');
  fs.mkdirSync(out);
  const pid = liveProcess(t);
  fs.writeFileSync(path.join(out, LOCK_FILE), JSON.stringify({ pid, start_time: '1', host: os.hostname() }));
  const unlock = lockRunDirectory(out);
  assert.equal(readLock(path.join(out, LOCK_FILE))!.pid, process.pid);
  unlock();
});

test('a lock held by a live process with the same start time is respected', (t) => {
  const out = path.join(tempDir('lock-live'), 'out');
  fs.mkdirSync(out);
  const pid = liveProcess(t);
  fs.writeFileSync(path.join(out, LOCK_FILE), JSON.stringify({ pid, start_time: processStartTime(pid), host: os.hostname() }));
  assert.throws(() => lockRunDirectory(out), new RegExp(`being written by another training run \\(process ${pid}\\)`));
});

test('a lock that names the run\'s own pid was left by an earlier process and is taken over', () => {
  const out = path.join(tempDir('lock-own'), 'out');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, LOCK_FILE), `${process.pid}\n`);
  const unlock = lockRunDirectory(out);
  assert.equal(readLock(path.join(out, LOCK_FILE))!.host, os.hostname());
  unlock();
  assert.equal(fs.existsSync(path.join(out, LOCK_FILE)), false);
});
