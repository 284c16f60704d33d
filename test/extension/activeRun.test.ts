// A run's lifetime in the extension (activeRun.ts) with a real trainer process: the statuses the
// views see, the Output channel, and that a stopped or crashed run leaves no process, no
// listener and no notification behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installFakeVscode, outputChannel, recorded } from './fakeVscode';
import { Emitter } from '../../src/extension/events';
import { LogHistory } from '../../src/extension/logHistory';
import { twoMoons } from '../../src/extension/scaffold';
import type { JobKind, JobOptions } from '../../src/protocol';
import type { RunProgress, RunStatus } from '../../src/webviewProtocol';
import { ROOT, tempDir } from '../helpers';

installFakeVscode();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ActiveRun } = require('../../src/extension/activeRun') as typeof import('../../src/extension/activeRun');

const SCRIPT = path.join(ROOT, 'dist', 'trainerProcess.js');

function config(): string {
  const dir = tempDir('active');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), twoMoons(256, 3));
  const file = path.join(dir, 'trainer.yaml');
  fs.writeFileSync(file, 'model:\n  builtin: mlp\n  num_labels: 2\ndata:\n  train: train.jsonl\ntraining:\n  output_dir: out\n  max_steps: 100000\n  logging_steps: 5\n  save_steps: 50\n  per_device_train_batch_size: 16\n');
  return file;
}

/** The registry as the run sees it: statuses, and re-reads of the run directory. */
function fakeRegistry(outputDir: string) {
  const statuses: RunStatus[] = [];
  const changes = new Emitter<string>();
  const run = {
    id: outputDir, label: 'moons', outputDir, status: 'idle' as RunStatus, progress: null as RunProgress | null, message: undefined as string | undefined,
    command: undefined as string | undefined, history: new LogHistory(outputDir), checkpoints: [] as unknown[], resumable: undefined,
  };
  const registry = {
    setStatus(r: typeof run, status: RunStatus, extra: { progress?: RunProgress | null; message?: string; command?: string } = {}) {
      if (statuses.at(-1) !== status) statuses.push(status);
      r.status = status;
      if ('progress' in extra) r.progress = extra.progress ?? null;
      if ('message' in extra) r.message = extra.message;
      if ('command' in extra) r.command = extra.command;
      changes.fire('status');
    },
    syncHistory: (r: typeof run) => r.history.sync(),
    syncCheckpoints: () => changes.fire('checkpoints'),
  };
  return { run, registry, statuses, changes };
}

async function until(what: string, fn: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface StartAs {
  command?: JobKind;
  job?: JobOptions;
  announcesResult?: boolean;
  what?: string;
}

function start(file: string, { command = 'train', job = {}, announcesResult = false, what = '' }: StartAs = {}) {
  const f = fakeRegistry(path.join(path.dirname(file), 'out'));
  const output = outputChannel();
  const listenersBefore = f.changes.listenerCount;
  const active = new ActiveRun({
    script: SCRIPT, command, config: file, job, what, announcesResult, run: f.run as never, registry: f.registry as never, output: output as never,
  });
  return { ...f, output, active, listenersBefore };
}

test('a stopped run goes starting → running → stopping → stopped and leaves no process, listener or notification', async () => {
  const s = start(config());
  await until('step 30', () => (s.run.progress?.step ?? 0) >= 30);
  assert.ok(s.run.history.entries.length > 0, 'log entries were read from trainer_log.jsonl as they came');
  s.active.stop(true);
  const outcome = await s.active.done;
  assert.deepEqual(outcome, { kind: 'stopped', saved: true });
  assert.deepEqual(s.statuses, ['starting', 'running', 'stopping', 'stopped']);
  assert.equal(s.run.message, 'stopped; checkpoint saved');
  assert.equal(s.run.command, undefined);
  assert.equal(s.active.held, 0, 'the run released every subscription');
  assert.equal(s.changes.listenerCount, s.listenersBefore);
  assert.equal(recorded.openProgress, 0, 'the preparation notification closed');
  assert.throws(() => process.kill(s.active.process.pid!, 0), /ESRCH/, 'the trainer process is gone');
  assert.match(s.output.text, /── .* train trainer\.yaml ──\n\$ onnx-trainer train .*trainer\.yaml/);
  assert.match(s.output.text, /── stop requested: saving a checkpoint after this step ──/);
  assert.match(s.output.text, /── checkpoint saved: .*checkpoint-\d+ ──\n[\s\S]*── stopped; checkpoint saved ──/);
  assert.ok(recorded.progress.some((p) => p === 'Trainer: moons: Compiling the training graph'), recorded.progress.join('\n'));
});

test('a killed trainer marks the run failed, tells the user with its last lines, and releases everything', async () => {
  const s = start(config());
  await until('a logged loss', () => /\{'loss'/.test(s.output.text));
  process.kill(s.active.process.pid!, 'SIGKILL');
  await s.active.done;
  assert.equal(s.run.status, 'failed');
  assert.equal(s.run.message, 'The trainer process was killed (SIGKILL).');
  const error = recorded.errors.at(-1)!;
  assert.match(error, /^Trainer: moons: train failed: the trainer process was killed \(SIGKILL\)\. Last output: \{'loss'/);
  assert.match(s.output.text, /── the trainer process was killed \(SIGKILL\); its last lines: ──\n {3}\{'loss'/);
  assert.equal(s.active.held, 0);
  assert.equal(s.changes.listenerCount, s.listenersBefore);
});

test('disposing a run (VS Code closing) kills its trainer and releases everything', async () => {
  const s = start(config());
  await until('training', () => s.run.status === 'running');
  const pid = s.active.process.pid!;
  s.active.dispose();
  assert.equal(s.active.held, 0);
  await until('the process to exit', () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000);
});

test('a finished export tells the user once: the generic notification only where the starter does not announce the result', async () => {
  const file = config();
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('max_steps: 100000', 'max_steps: 5').replace('save_steps: 50', 'save_steps: 5'));
  const trained = start(file);
  assert.deepEqual(await trained.active.done, { kind: 'finished' });
  const checkpoint = path.join(path.dirname(file), 'out', 'checkpoint-5');
  const exportTo = (dir: string, announcesResult: boolean) => start(file, { command: 'export', job: { checkpoint, output: path.join(path.dirname(file), dir) }, announcesResult, what: `export to ${dir}` });

  const before = recorded.info.length;
  const plain = exportTo('plain', false);
  assert.deepEqual(await plain.active.done, { kind: 'finished' });
  assert.deepEqual(recorded.info.slice(before), ['Trainer: moons: export finished (export to plain).']);
  const announced = exportTo('announced', true);
  assert.deepEqual(await announced.active.done, { kind: 'finished' });
  assert.ok(fs.existsSync(path.join(path.dirname(file), 'announced', 'model.onnx')));
  assert.equal(recorded.info.length, before + 1, 'no second notification for the same result');
});
