// Interrupted is not success: Ctrl+C (SIGINT) or SIGTERM stops after the current step, saves a
// checkpoint, writes no final model, says how to resume and exits 130 / 143. A second signal
// ends the process at once, and what it leaves is still resumable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastCheckpoint, listCheckpoints } from '../../src/trainer/loop/checkpoints';
import { FIXTURES, ROOT, runCli, tempDir, writeConfig } from '../helpers';

function longRun(): { dir: string; config: string } {
  const dir = tempDir('signals');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const config = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 100000, per_device_train_batch_size: 8, save_steps: 100000, logging_steps: 1, disable_tqdm: true, report_to: 'none' },
  });
  return { dir, config };
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts training, sends `signals` (a few ms apart) once a loss has been logged, and waits for the exit. */
async function interrupt(config: string, signals: NodeJS.Signals[]): Promise<Ended> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'onnx-trainer.js'), 'train', config], { cwd: path.dirname(config) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const ended = new Promise<Ended>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  while (!stderr.includes("'loss'")) await new Promise((r) => setTimeout(r, 20));
  for (const s of signals) {
    child.kill(s);
    await new Promise((r) => setTimeout(r, 5));
  }
  const e = await ended;
  return { ...e, stdout, stderr };
}

test('Ctrl+C saves a checkpoint at the step it stopped at, writes no final model and exits 130', async () => {
  const { dir, config } = longRun();
  const r = await interrupt(config, ['SIGINT']);
  assert.equal(r.code, 130, r.stderr.slice(-500));
  const m = /^stopped at step (\d+); resume with: onnx-trainer train .*trainer\.yaml --resume/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.doesNotMatch(r.stdout, /trained|model written/);
  assert.equal(path.basename(lastCheckpoint(path.join(dir, 'out'))!), `checkpoint-${m[1]}`);
  assert.equal(fs.existsSync(path.join(dir, 'out', 'model.onnx')), false, 'no final model');
});

test('SIGTERM stops the same way and exits 143', async () => {
  const { dir, config } = longRun();
  const r = await interrupt(config, ['SIGTERM']);
  assert.equal(r.code, 143, r.stderr.slice(-500));
  assert.match(r.stdout, /^stopped at step \d+; resume with/);
  assert.equal(listCheckpoints(path.join(dir, 'out')).length, 1);
  assert.equal(fs.existsSync(path.join(dir, 'out', 'model.onnx')), false);
});

test('a second signal ends the process at once, leaving a run directory that resumes', async () => {
  const { dir, config } = longRun();
  const r = await interrupt(config, ['SIGINT', 'SIGINT']);
  assert.ok(r.code !== 0, `a non-zero end (code ${r.code}, signal ${r.signal})`);
  assert.doesNotMatch(r.stdout, /model written/);
  // Whatever it left (a checkpoint or none), the next run resumes or starts over cleanly.
  const latest = lastCheckpoint(path.join(dir, 'out'));
  const step = latest ? Number(/checkpoint-(\d+)$/.exec(latest)![1]) : 0;
  const next = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: step + 2, per_device_train_batch_size: 8, save_steps: 100000, logging_steps: 1, report_to: 'none' },
  }, 'next.yaml');
  const resumed = runCli(['train', next, ...(latest ? ['--resume'] : [])]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`trained ${step + 2} steps`));
  for (const c of listCheckpoints(path.join(dir, 'out'))) assert.ok(fs.existsSync(path.join(c.path, 'trainer_state.json')), `${c.path} is complete`);
});
