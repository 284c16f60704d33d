// The messages between a trainer process and the extension are checked on arrival.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, parseControlMessage, parseTrainerMessage, versionMismatch } from '../../src/protocol';

test('each kind of trainer message is accepted with its required fields', () => {
  const ok = [
    { type: 'started', version: PROTOCOL_VERSION, pid: 1, command: 'train', config: '/c.yaml', outputDir: '/out' },
    { type: 'phase', phase: 'compiling', message: 'Compiling the training graph' },
    { type: 'progress', step: 1, maxSteps: 10, epoch: 0.1, samplesPerSecond: 5, etaSeconds: null, loss: null },
    { type: 'log', entry: { loss: 1, step: 1 } },
    { type: 'checkpoint', path: '/out/checkpoint-1', step: 1 },
    { type: 'error', code: 'bad_input', message: 'c.yaml:3: training.lr: unknown key', exitCode: 2, file: '/c.yaml', key: 'training.lr', line: 3 },
    { type: 'error', code: 'runtime', message: 'step 4: loss is NaN', exitCode: 1 },
    { type: 'log', entry: { loss: null, step: 2 } },
    { type: 'finished', exitCode: 0, outputDir: '/out' },
  ];
  for (const m of ok) assert.deepEqual(parseTrainerMessage(m), m, m.type);
});

test('messages with a missing field, a wrong type or an unknown tag are dropped', () => {
  const bad = [
    undefined, null, 'progress', 42, [], {},
    { type: 'nonsense' },
    { type: 'progress', step: '1', maxSteps: 10, epoch: 0 },
    { type: 'checkpoint', step: 3 },
    { type: 'log', entry: null },
    { type: 'finished', exitCode: 0 },
    { type: 'started', version: 1, pid: 1, command: 'train', config: '/c.yaml' },
    { type: 'started', version: 1, pid: 1, command: 'check', config: '/c.yaml', outputDir: '/out' },
    { type: 'phase', phase: 'dreaming', message: 'x' },
    { type: 'progress', step: 1, maxSteps: 10, epoch: 0.1 },
    { type: 'progress', step: 1, maxSteps: 10, epoch: 0.1, samplesPerSecond: 5, etaSeconds: '3', loss: null },
    { type: 'log', entry: { loss: 'high' } },
    { type: 'error', message: 'bad', exitCode: 2 },
    { type: 'error', code: 'oops', message: 'bad', exitCode: 2 },
    { type: 'error', code: 'bad_input', message: 'bad', exitCode: 2, line: '3' },
  ];
  for (const m of bad) assert.equal(parseTrainerMessage(m), undefined, JSON.stringify(m));
});

test('control messages: a start request with its options, and stop with or without saving', () => {
  const start = { type: 'start', version: PROTOCOL_VERSION, command: 'predict', config: '/c.yaml', checkpoint: '/out/checkpoint-4', output: '/p.jsonl' };
  assert.deepEqual(parseControlMessage(start), start);
  assert.deepEqual(parseControlMessage({ type: 'start', version: PROTOCOL_VERSION, command: 'train', config: '/c.yaml', resume: true }), { type: 'start', version: PROTOCOL_VERSION, command: 'train', config: '/c.yaml', resume: true });
  for (const bad of [{ ...start, command: 'check' }, { ...start, config: 3 }, { ...start, resume: false }, { ...start, adapterOnly: 'yes' }, { type: 'start', command: 'train', config: '/c.yaml' }]) {
    assert.equal(parseControlMessage(bad), undefined, JSON.stringify(bad));
  }
  assert.deepEqual(parseControlMessage({ type: 'stop', save: true }), { type: 'stop', save: true });
  assert.deepEqual(parseControlMessage({ type: 'stop', save: false, extra: 1 }), { type: 'stop', save: false });
  assert.equal(parseControlMessage({ type: 'stop' }), undefined);
  assert.equal(parseControlMessage({ type: 'kill', save: true }), undefined);
});

test('a version that is not ours is named in words on both sides', () => {
  assert.equal(versionMismatch(PROTOCOL_VERSION, 'trainer'), undefined);
  assert.match(versionMismatch(PROTOCOL_VERSION + 1, 'trainer')!, new RegExp(`extension speaks protocol version ${PROTOCOL_VERSION + 1} and this trainer version ${PROTOCOL_VERSION}`));
  assert.match(versionMismatch(undefined, 'extension')!, /trainer speaks protocol version undefined/);
});
