// The messages between a trainer process and the extension are checked on arrival.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, parseControlMessage, parseTrainerMessage } from '../../src/protocol';

test('each kind of trainer message is accepted with its required fields', () => {
  const ok = [
    { type: 'started', version: PROTOCOL_VERSION, pid: 1, command: 'train', config: '/c.yaml', outputDir: '/out' },
    { type: 'phase', phase: 'compiling', message: 'Compiling the training graph' },
    { type: 'progress', step: 1, maxSteps: 10, epoch: 0.1, samplesPerSecond: 5, etaSeconds: null, loss: null },
    { type: 'log', entry: { loss: 1, step: 1 } },
    { type: 'checkpoint', path: '/out/checkpoint-1', step: 1 },
    { type: 'error', message: 'bad', exitCode: 2 },
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
  ];
  for (const m of bad) assert.equal(parseTrainerMessage(m), undefined, JSON.stringify(m));
});

test('the only control message is stop, with or without saving', () => {
  assert.deepEqual(parseControlMessage({ type: 'stop', save: true }), { type: 'stop', save: true });
  assert.deepEqual(parseControlMessage({ type: 'stop', save: false, extra: 1 }), { type: 'stop', save: false });
  assert.equal(parseControlMessage({ type: 'stop' }), undefined);
  assert.equal(parseControlMessage({ type: 'kill', save: true }), undefined);
});
