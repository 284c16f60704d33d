// Which code lenses a config shows, and where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lensLine, lensesFor, lensesKey } from '../../src/extension/lenses';

const titles = (s: Parameters<typeof lensesFor>[0]) => lensesFor(s).map((l) => l.title);

test('an idle config offers Start and Open Metrics, and Resume latest once a checkpoint exists', () => {
  assert.deepEqual(titles({ trusted: true, canResume: false }), ['▶ Start Training', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: true }), ['▶ Start Training', '↻ Resume latest', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: true, active: { status: 'failed', command: 'train' } }), ['▶ Start Training', '↻ Resume latest', 'Open Metrics'], 'a finished or failed run can start again');
});

test('while the run goes, the lens is Stop with what the process does', () => {
  assert.deepEqual(titles({ trusted: true, canResume: true, active: { status: 'running', command: 'train' } }), ['■ Stop (training)', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: true, active: { status: 'running', command: 'evaluate' } }), ['■ Stop (evaluating)', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: false, active: { status: 'starting', command: 'train' } }), ['■ Stop (preparing)', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: false, active: { status: 'stopping', command: 'train' } }), ['■ Stopping…', 'Open Metrics']);
  assert.deepEqual(lensesFor({ trusted: true, canResume: false, active: { status: 'running', command: 'train' } })[0].command, 'trainer.stopTraining');
});

test('the lenses key changes exactly when some lens title does', () => {
  const idle = { trusted: true, canResume: false };
  const key = (...states: [string, Parameters<typeof lensesFor>[0]][]) => lensesKey(states);
  assert.equal(key(['a', idle], ['b', idle]), key(['b', idle], ['a', idle]), 'independent of the order of runs');
  assert.notEqual(key(['a', idle]), key(['a', { ...idle, canResume: true }]), 'a first checkpoint adds Resume latest');
  assert.notEqual(key(['a', { ...idle, active: { status: 'starting', command: 'train' } }]), key(['a', { ...idle, active: { status: 'running', command: 'train' } }]));
  assert.equal(key(['a', { ...idle, active: { status: 'failed', command: 'train' } }]), key(['a', idle]), 'a failed run shows the idle lenses');
  assert.notEqual(key(['a', idle]), key(['a', idle], ['b', idle]), 'a new config');
});

test('an untrusted workspace offers to manage trust instead of starting', () => {
  assert.deepEqual(titles({ trusted: false, canResume: true }), ['$(shield) Trust the workspace to train', 'Open Metrics']);
});

test('lenses sit on the first line that is not blank, a comment or a document marker', () => {
  assert.equal(lensLine('model:\n  builtin: mlp\n'), 0);
  assert.equal(lensLine('# comment\n\n---\n  \nmodel:\n'), 4);
  assert.equal(lensLine('// JSONC comment\n{\n  "model": {}\n}'), 1);
  assert.equal(lensLine(''), 0);
});
