// Durable writes: a file is replaced whole or not at all, a failed write names the file and the
// cause in words, a deleted folder never lingers half-deleted under its own name — and the
// engine writes files through this one helper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WriteError, removeFolderDurably, writeFileDurably } from '../../src/trainer/io/durable';
import { spawnSync } from 'node:child_process';
import { ROOT, tempDir, writeConfig } from '../helpers';

test('a durable write replaces the file and leaves no temporary file behind', () => {
  const dir = tempDir('durable');
  const file = path.join(dir, 'trainer_state.json');
  fs.writeFileSync(file, 'old');
  writeFileDurably(file, '{"global_step": 3}\n');
  assert.equal(fs.readFileSync(file, 'utf8'), '{"global_step": 3}\n');
  writeFileDurably(file, [Buffer.from('a'), Buffer.from('b')]);
  assert.equal(fs.readFileSync(file, 'utf8'), 'ab');
  assert.deepEqual(fs.readdirSync(dir), ['trainer_state.json']);
});

test('a failed write names the file and the cause in words, and leaves the old file alone', () => {
  const dir = tempDir('durable-fail');
  fs.writeFileSync(path.join(dir, 'blocker'), 'a file, not a folder');
  const file = path.join(dir, 'blocker', 'model.onnx');
  assert.throws(() => writeFileDurably(file, 'x'), (e: unknown) => {
    assert.ok(e instanceof WriteError);
    assert.equal(e.message, `cannot write ${file}: a part of the path is a file, not a folder`);
    return true;
  });
  assert.equal(fs.readFileSync(path.join(dir, 'blocker'), 'utf8'), 'a file, not a folder');
});

test('a folder removed durably is gone, and so is its temporary name', () => {
  const dir = tempDir('durable-rm');
  const checkpoint = path.join(dir, 'checkpoint-4');
  fs.mkdirSync(checkpoint);
  fs.writeFileSync(path.join(checkpoint, 'model.safetensors'), 'x');
  removeFolderDurably(checkpoint);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('engine code writes files only through io/durable.ts (append-only logs and the lock aside)', () => {
  // The JSONL log and TensorBoard event files are append-only streams; the lock is created with
  // 'wx'; a streamed Parquet file is spooled to the system's temporary folder, not output_dir;
  // a Hub download appends to its `.incomplete` file (resumable) and is renamed into the cache
  // when whole, and its lock is created with 'wx'.
  const allowed = new Set(['io/durable.ts', 'logging/jsonl.ts', 'logging/tensorboard.ts', 'loop/lock.ts', 'data/parquet.ts', 'hub/fileDownload.ts', 'hub/blobLock.ts']);
  const offenders: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !allowed.has(path.relative(path.join(ROOT, 'src', 'trainer'), p))) {
        const text = fs.readFileSync(p, 'utf8');
        if (/\b(writeFileSync|appendFileSync|createWriteStream|writeSync)\(/.test(text)) offenders.push(path.relative(ROOT, p));
      }
    }
  };
  walk(path.join(ROOT, 'src', 'trainer'));
  assert.deepEqual(offenders, []);
});

test('a run whose writes are cut short (a file size limit, like a full disk) fails in one line naming the file, leaving no partial file', () => {
  if (process.platform !== 'linux') return;
  const dir = tempDir('durable-limit');
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const config = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [256], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 8, save_steps: 1, report_to: 'none' },
  });
  // 16 KB per file: the weights (~24 KB) do not fit; Node ignores SIGXFSZ, so the write fails.
  const r = spawnSync('bash', ['-c', `ulimit -f 16; exec "${process.execPath}" "${path.join(ROOT, 'bin', 'onnx-trainer.js')}" train "${config}"`], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  const message = r.stderr.trim().split('\n').at(-1)!;
  assert.match(message, /^error: cannot write \S+model\.safetensors: the file would be larger than allowed/);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'out')).filter((n) => n !== '.trainer.lock'), ['trainer_log.jsonl'], 'no checkpoint, no temporary folder');
});
