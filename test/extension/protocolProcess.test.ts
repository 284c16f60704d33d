// Every message of the trainer ⇄ extension contract (src/protocol.ts) through real child
// processes: the extension's TrainerProcess forks dist/trainerProcess.js and sends a typed start
// request; the trainer answers with every kind of TrainerMessage, a structured error naming the
// file, key and line, and refuses a request of another protocol version (and the extension a
// trainer of another version).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JOB_KINDS, JobKind, JobOptions, PROTOCOL_VERSION, TrainerMessage, parseTrainerMessage } from '../../src/protocol';
import { Outcome, TrainerProcess } from '../../src/extension/trainerChild';
import { twoMoons } from '../../src/extension/scaffold';
import { ROOT, tempDir } from '../helpers';

const SCRIPT = path.join(ROOT, 'dist', 'trainerProcess.js');
let dir = '';

function config(name: string, training: string, data = 'train.jsonl'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `model:\n  builtin: mlp\n  hidden_sizes: [16]\n  num_labels: 2\ndata:\n  train: ${data}\n  eval: eval.jsonl\ntraining:\n  output_dir: out-${path.basename(name, '.yaml')}\n  per_device_train_batch_size: 16\n${training}`);
  return file;
}

async function run(command: JobKind, file: string, job: JobOptions = {}): Promise<{ messages: TrainerMessage[]; outcome: Outcome }> {
  const proc = new TrainerProcess({ script: SCRIPT, command, config: file, job, cwd: dir });
  const messages: TrainerMessage[] = [];
  proc.onMessage((m) => messages.push(m));
  const outcome = await new Promise<Outcome>((resolve) => proc.onExit(resolve));
  proc.dispose();
  return { messages, outcome };
}

before(() => {
  assert.ok(fs.existsSync(SCRIPT), `${SCRIPT} is missing: run npm run build first`);
  dir = tempDir('protocol');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), twoMoons(128, 1));
  fs.writeFileSync(path.join(dir, 'eval.jsonl'), twoMoons(32, 2));
});

test('a training run sends started, phase, progress, log, checkpoint and finished, each with every field', async () => {
  const { messages, outcome } = await run('train', config('train.yaml', '  max_steps: 12\n  logging_steps: 4\n  eval_strategy: steps\n  eval_steps: 6\n  save_steps: 6\n'));
  assert.deepEqual(outcome, { kind: 'finished' });
  const kinds = new Set(messages.map((m) => m.type));
  for (const k of ['started', 'phase', 'progress', 'log', 'checkpoint', 'finished'] as const) assert.ok(kinds.has(k), `a ${k} message`);
  for (const m of messages) assert.deepEqual(parseTrainerMessage(JSON.parse(JSON.stringify(m))), m, `${m.type} is valid after a JSON round trip`);
  const started = messages[0];
  assert.equal(started.type, 'started');
  if (started.type === 'started') {
    assert.equal(started.version, PROTOCOL_VERSION);
    assert.equal(started.command, 'train');
  }
  assert.deepEqual(messages.filter((m) => m.type === 'checkpoint').map((m) => (m as { step: number }).step), [6, 12]);
  assert.equal(messages.at(-1)?.type, 'finished');
});

test('evaluate, predict, export and try take their options from the start request', async () => {
  const file = config('jobs.yaml', '  max_steps: 4\n  save_steps: 4\n');
  assert.deepEqual((await run('train', file)).outcome, { kind: 'finished' });
  const checkpoint = path.join(dir, 'out-jobs', 'checkpoint-4');
  const evaluated = await run('evaluate', file, { checkpoint });
  assert.deepEqual(evaluated.outcome, { kind: 'finished' });
  assert.ok(evaluated.messages.some((m) => m.type === 'log' && typeof m.entry.eval_loss === 'number'), 'the evaluation metrics as a log message');
  const predictions = path.join(dir, 'p.jsonl');
  assert.deepEqual((await run('predict', file, { checkpoint, output: predictions })).outcome, { kind: 'finished' });
  assert.equal(fs.readFileSync(predictions, 'utf8').trim().split('\n').length, 32);
  const exported = path.join(dir, 'exported');
  assert.deepEqual((await run('export', file, { checkpoint, output: exported })).outcome, { kind: 'finished' });
  assert.ok(fs.existsSync(path.join(exported, 'model.onnx')));
  const answer = path.join(dir, 'answer.json');
  assert.deepEqual((await run('try', file, { checkpoint, output: answer, input: { record: '{"features": [0.5, -0.3]}' } })).outcome, { kind: 'finished' });
  assert.equal(JSON.parse(fs.readFileSync(answer, 'utf8')).kind, 'labels');
  assert.deepEqual([...JOB_KINDS], ['train', 'evaluate', 'predict', 'export', 'try'], 'every job kind was started above');
});

test('a bad config key is a structured error: code, exit code 2, the file, the key and the line', async () => {
  const file = config('typo.yaml', '  max_steps: 2\n  learning_rat: 0.1\n');
  const { messages, outcome } = await run('train', file);
  const error = messages.find((m) => m.type === 'error');
  assert.ok(error && error.type === 'error');
  assert.equal(error.code, 'bad_input');
  assert.equal(error.exitCode, 2);
  assert.equal(error.file, file);
  assert.equal(error.key, 'training.learning_rat');
  assert.equal(error.line, 12);
  assert.equal(outcome.kind, 'error');
  if (outcome.kind === 'error') assert.deepEqual([outcome.code, outcome.file, outcome.key, outcome.line], ['bad_input', file, 'training.learning_rat', 12]);
});

test('a bad data line names the data file and its line', async () => {
  fs.writeFileSync(path.join(dir, 'broken.jsonl'), `${twoMoons(3, 1).trim()}\n{"x": [1, 2], "label": \n`);
  const { outcome } = await run('train', config('data.yaml', '  max_steps: 2\n', 'broken.jsonl'));
  assert.equal(outcome.kind, 'error');
  if (outcome.kind !== 'error') return;
  assert.equal(outcome.code, 'bad_input');
  assert.equal(outcome.file, path.join(dir, 'broken.jsonl'));
  assert.equal(outcome.line, 4);
});

test('a failure while running is a runtime error with exit code 1', async () => {
  // SGD with an absurd learning rate diverges: the non-finite policy stops the run.
  const { outcome } = await run('train', config('diverge.yaml', '  max_steps: 50\n  optim: sgd\n  learning_rate: 1.0e+30\n  max_grad_norm: 0\n'));
  assert.equal(outcome.kind, 'error');
  if (outcome.kind !== 'error') return;
  assert.equal(outcome.code, 'runtime');
  assert.equal(outcome.exitCode, 1);
  assert.match(outcome.message, /step \d+/);
});

test('the trainer refuses a start request of another protocol version, in words', async () => {
  const child = fork(SCRIPT, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  const messages: TrainerMessage[] = [];
  child.on('message', (m) => messages.push(parseTrainerMessage(m)!));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.send({ type: 'start', version: PROTOCOL_VERSION + 1, command: 'train', config: config('v.yaml', '') });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 2);
  const error = messages.find((m) => m?.type === 'error');
  assert.ok(error && error.type === 'error');
  assert.equal(error.code, 'protocol');
  assert.match(error.message, new RegExp(`extension speaks protocol version ${PROTOCOL_VERSION + 1} and this trainer version ${PROTOCOL_VERSION}`));
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
});

test('the extension refuses a trainer of another protocol version, in words', async () => {
  // A stand-in trainer from another build: it answers the start request with its own version.
  const other = path.join(dir, 'otherTrainer.js');
  fs.writeFileSync(other, `process.on('message', (m) => { process.send({ type: 'started', version: ${PROTOCOL_VERSION + 1}, pid: process.pid, command: m.command, config: m.config, outputDir: '/out' }); setInterval(() => {}, 1000); });\n`);
  const proc = new TrainerProcess({ script: other, command: 'train', config: '/c.yaml', cwd: dir });
  const outcome = await new Promise<Outcome>((resolve) => proc.onExit(resolve));
  proc.dispose();
  assert.equal(outcome.kind, 'error');
  if (outcome.kind !== 'error') return;
  assert.equal(outcome.code, 'protocol');
  assert.match(outcome.message, new RegExp(`trainer speaks protocol version ${PROTOCOL_VERSION + 1} and this extension version ${PROTOCOL_VERSION}`));
});
