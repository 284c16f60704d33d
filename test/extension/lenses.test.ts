// Which code lenses a config shows, and where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lensLine, lensesFor } from '../../src/extension/lenses';

const titles = (s: Parameters<typeof lensesFor>[0]) => lensesFor(s).map((l) => l.title);

test('an idle config offers Start and Open Metrics, and Resume latest once a checkpoint exists', () => {
  assert.deepEqual(titles({ trusted: true, canResume: false }), ['▶ Start Training', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: true }), ['▶ Start Training', '↻ Resume latest', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: true, active: { status: 'failed', command: 'train', step: 0, maxSteps: 0 } }), ['▶ Start Training', '↻ Resume latest', 'Open Metrics'], 'a finished or failed run can start again');
});

test('while the run goes, the lens is Stop with its step', () => {
  assert.deepEqual(titles({ trusted: true, canResume: true, active: { status: 'running', command: 'train', step: 120, maxSteps: 470 } }), ['■ Stop (step 120/470)', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: false, active: { status: 'starting', command: 'train', step: 0, maxSteps: 0 } }), ['■ Stop (preparing)', 'Open Metrics']);
  assert.deepEqual(titles({ trusted: true, canResume: false, active: { status: 'stopping', command: 'train', step: 5, maxSteps: 9 } }), ['■ Stopping…', 'Open Metrics']);
  assert.deepEqual(lensesFor({ trusted: true, canResume: false, active: { status: 'running', command: 'train', step: 1, maxSteps: 2 } })[0].command, 'trainer.stopTraining');
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
