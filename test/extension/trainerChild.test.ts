// Trainer processes as the extension runs them (dist/trainerProcess.js forked with IPC): stopping
// saves a checkpoint and leaves no process and no listener behind; deaths without a message are
// reported with the last output lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainerMessage } from '../../src/protocol';
import { Outcome, TrainerProcess } from '../../src/extension/trainerChild';
import { twoMoons } from '../../src/extension/scaffold';
import { ROOT, tempDir } from '../helpers';

const SCRIPT = path.join(ROOT, 'dist', 'trainerProcess.js');

function workspace(training: string): string {
  assert.ok(fs.existsSync(SCRIPT), `${SCRIPT} is missing: run npm run build first`);
  const dir = tempDir('proc');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), twoMoons(256, 1));
  const file = path.join(dir, 'trainer.yaml');
  fs.writeFileSync(file, `model:\n  builtin: mlp\n  hidden_sizes: [16]\n  num_labels: 2\ndata:\n  train: train.jsonl\ntraining:\n  output_dir: out\n  per_device_train_batch_size: 16\n${training}`);
  return file;
}

function start(config: string): { proc: TrainerProcess; messages: TrainerMessage[]; exit: Promise<Outcome> } {
  const proc = new TrainerProcess({ script: SCRIPT, command: 'train', config, cwd: path.dirname(config) });
  const messages: TrainerMessage[] = [];
  proc.onMessage((m) => messages.push(m));
  const exit = new Promise<Outcome>((resolve) => proc.onExit(resolve));
  return { proc, messages, exit };
}

async function until(what: string, fn: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number | undefined): boolean {
  try {
    process.kill(pid!, 0);
    return true;
  } catch {
    return false;
  }
}

const LONG = '  max_steps: 100000\n  logging_steps: 5\n  save_steps: 50\n';
const lastProgress = (ms: TrainerMessage[]) => ms.filter((m) => m.type === 'progress').at(-1) as Extract<TrainerMessage, { type: 'progress' }> | undefined;

test('stopping a run saves a checkpoint at the current step and leaves no process and no listener behind', async () => {
  // No save grid in reach: the only checkpoint is the one the stop asks for.
  const config = workspace('  max_steps: 100000\n  logging_steps: 5\n  save_steps: 100000\n');
  const { proc, messages, exit } = start(config);
  await until('step 60', () => (lastProgress(messages)?.step ?? 0) >= 60);
  proc.stop(true);
  const outcome = await exit;
  assert.deepEqual(outcome, { kind: 'stopped', saved: true });
  const checkpoints = messages.filter((m) => m.type === 'checkpoint') as Extract<TrainerMessage, { type: 'checkpoint' }>[];
  assert.equal(checkpoints.length, 1);
  const saved = checkpoints[0];
  const state = JSON.parse(fs.readFileSync(path.join(path.dirname(config), 'out', 'trainer_state.json'), 'utf8')) as { global_step: number };
  assert.ok(saved.step > 60 && saved.step === state.global_step, `a checkpoint at the step the run stopped at (${state.global_step}): ${saved.step}`);
  assert.ok(fs.existsSync(path.join(saved.path, 'optimizer.safetensors')));
  assert.equal(messages.at(-1)?.type, 'finished');
  assert.equal(proc.running, false);
  assert.equal(alive(proc.pid), false, 'the process has exited');
  assert.equal(proc.attachedListeners, 0, 'nothing listens on the child process or its pipes');
  proc.dispose();
  assert.equal(proc.subscribers, 0, 'no subscriber is left on the process object');
});

test('a trainer stopped by SIGTERM (exit 143) is shown as stopped with its checkpoint, not as finished', async () => {
  const config = workspace('  max_steps: 100000\n  logging_steps: 5\n  save_steps: 100000\n');
  const { proc, messages, exit } = start(config);
  await until('step 20', () => (lastProgress(messages)?.step ?? 0) >= 20);
  process.kill(proc.pid!, 'SIGTERM');
  assert.deepEqual(await exit, { kind: 'stopped', saved: true });
  assert.deepEqual(messages.filter((m) => m.type === 'finished').map((m) => (m as { exitCode: number }).exitCode), [143]);
  assert.equal(messages.filter((m) => m.type === 'error').length, 0, 'a stop is not reported as an error');
  assert.equal(messages.filter((m) => m.type === 'checkpoint').length, 1);
  proc.dispose();
});

test('stopping without saving ends the run with no new checkpoint', async () => {
  const config = workspace(LONG);
  const { proc, messages, exit } = start(config);
  await until('step 20', () => (lastProgress(messages)?.step ?? 0) >= 20);
  proc.stop(false);
  assert.deepEqual(await exit, { kind: 'stopped', saved: false });
  const steps = messages.filter((m) => m.type === 'checkpoint').map((m) => (m as { step: number }).step);
  assert.ok(steps.every((s) => s % 50 === 0), `only checkpoints on the save grid (save_steps: 50): ${steps}`);
  proc.dispose();
});

test('a trainer killed with SIGKILL is reported as crashed, with its last output lines', async () => {
  const config = workspace(LONG);
  const { proc, exit } = start(config);
  let output = '';
  proc.onOutput((text) => (output += text));
  await until('a logged loss', () => output.includes("{'loss'"));
  process.kill(proc.pid!, 'SIGKILL');
  const outcome = await exit;
  assert.equal(outcome.kind, 'crashed');
  if (outcome.kind !== 'crashed') return;
  assert.equal(outcome.signal, 'SIGKILL');
  assert.ok(outcome.lastLines.some((l) => l.startsWith("{'loss'")), outcome.lastLines.join('\n'));
  assert.equal(proc.attachedListeners, 0);
  proc.dispose();
});

test('a config error is a clean failure with the trainer\'s message and exit code 2', async () => {
  const config = workspace('  learning_rat: 0.1\n');
  const { proc, exit } = start(config);
  const outcome = await exit;
  assert.equal(outcome.kind, 'error');
  if (outcome.kind !== 'error') return;
  assert.equal(outcome.exitCode, 2);
  assert.match(outcome.message, /training\.learning_rat: unknown key; did you mean "learning_rate"\?/);
  proc.dispose();
});

test('a run that reaches max_steps finishes, with the log on disk', async () => {
  const config = workspace('  max_steps: 20\n  logging_steps: 10\n');
  const { proc, messages, exit } = start(config);
  assert.deepEqual(await exit, { kind: 'finished' });
  assert.deepEqual(messages.filter((m) => m.type === 'log').map((m) => (m as { entry: Record<string, number> }).entry.step), [10, 20, 20]);
  assert.equal(fs.readFileSync(path.join(path.dirname(config), 'out', 'trainer_log.jsonl'), 'utf8').trim().split('\n').length, 3);
  proc.dispose();
});

test('disposing a running trainer kills it and drops every listener', async () => {
  const config = workspace(LONG);
  const { proc, messages } = start(config);
  let outcome: Outcome | undefined;
  proc.onExit((o) => (outcome = o));
  await until('training', () => messages.some((m) => m.type === 'progress'));
  proc.dispose();
  assert.deepEqual(outcome, { kind: 'stopped', saved: false });
  assert.equal(proc.attachedListeners, 0);
  assert.equal(proc.subscribers, 0);
  await until('the process to exit', () => !alive(proc.pid), 10_000);
});

test('shutdown stops gracefully and kills a trainer that does not stop in time', async () => {
  const config = workspace(LONG);
  const { proc, messages, exit } = start(config);
  await until('training', () => messages.some((m) => m.type === 'progress'));
  await proc.shutdown(5000);
  assert.deepEqual(await exit, { kind: 'stopped', saved: true });
  // Before training starts there is no step to finish: the grace period ends it.
  const early = start(workspace(LONG));
  await early.proc.shutdown(0);
  assert.equal((await early.exit).kind, 'stopped');
  assert.equal(alive(early.proc.pid), false);
  proc.dispose();
  early.proc.dispose();
});

test('the trainer process starts with glibc\'s malloc settings for training, and a value already in the environment wins', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const config = workspace(LONG);
  const proc = new TrainerProcess({ script: SCRIPT, command: 'train', config, cwd: path.dirname(config), env: { MALLOC_TRIM_THRESHOLD_: '12345' } });
  const exit = new Promise<Outcome>((resolve) => proc.onExit(resolve));
  const environ = fs.readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0');
  proc.stop(false);
  await exit;
  assert.ok(environ.includes(`MALLOC_MMAP_THRESHOLD_=${128 * 1024 ** 2}`), 'mmap threshold set');
  assert.ok(environ.includes('MALLOC_TRIM_THRESHOLD_=12345'), 'the given value kept');
});
