// A run killed at any moment — SIGKILL in the middle of writing a checkpoint included — leaves
// output_dir resumable from its last complete checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REQUIRED_FILES, lastCheckpoint, listCheckpoints } from '../../src/trainer/loop/checkpoints';
import { FIXTURES, ROOT, runCli, tempDir, writeConfig } from '../helpers';

function config(dir: string) {
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  // Wide layers make each checkpoint ~13 MB, so that writing one takes a while.
  return writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [1024, 1024], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 40, per_device_train_batch_size: 8, save_steps: 1, logging_steps: 1 },
  });
}

/** Starts training and SIGKILLs it as soon as `when(outputDir)` holds (checked continuously). */
async function killWhen(file: string, out: string, when: (entries: string[]) => boolean): Promise<string[]> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'onnx-trainer.js'), 'train', file], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let seen: string[] = [];
  for (;;) {
    seen = fs.existsSync(out) ? fs.readdirSync(out) : [];
    if (when(seen)) {
      child.kill('SIGKILL');
      break;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setImmediate(r));
  }
  await exited;
  return seen;
}

test('SIGKILL while a checkpoint is being written leaves the last complete one to resume from', async () => {
  const dir = tempDir('kill');
  const file = config(dir);
  const out = path.join(dir, 'out');
  // Kill the moment a temporary checkpoint folder exists after the first real one.
  const seen = await killWhen(file, out, (e) => e.some((n) => n.startsWith('.tmp-checkpoint-')) && e.some((n) => /^checkpoint-\d+$/.test(n)));
  assert.ok(seen.some((n) => n.startsWith('.tmp-checkpoint-')), 'killed during a checkpoint write');
  for (const c of listCheckpoints(out)) {
    for (const f of REQUIRED_FILES) assert.ok(fs.existsSync(path.join(c.path, f)), `${c.path} is complete (${f})`);
  }
  const latest = lastCheckpoint(out);
  assert.ok(latest, 'a complete checkpoint remains');
  const r = runCli(['train', file, '--resume']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!fs.readdirSync(out).some((n) => n.startsWith('.tmp-')), 'the stale temporary folder is cleaned up');
});

test('SIGKILL at arbitrary moments never leaves a checkpoint folder that resume would pick but cannot use', async () => {
  for (const delayMs of [150, 400, 900]) {
    const dir = tempDir('kill-any');
    const file = config(dir);
    const out = path.join(dir, 'out');
    const start = Date.now();
    await killWhen(file, out, () => Date.now() - start > delayMs);
    for (const c of listCheckpoints(out)) {
      for (const f of REQUIRED_FILES) assert.ok(fs.existsSync(path.join(c.path, f)), `${c.path} is complete (${f})`);
    }
    if (lastCheckpoint(out)) {
      const r = runCli(['train', file, '--resume']);
      assert.equal(r.code, 0, r.stderr);
    }
  }
});
