// trainer_state.json is written as Python's json.dumps(sort_keys=True, indent=2) writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainerState, parsePythonJson, pythonJson } from '../../src/trainer/loop/state';

test('keys are sorted at every level, including inside log_history entries', () => {
  const s = new TrainerState();
  s.log_history.push({ loss: 1.5, grad_norm: 2, learning_rate: 1e-3, epoch: 0.5, step: 1 });
  const text = pythonJson(s);
  const entry = text.slice(text.indexOf('"log_history"'));
  assert.ok(entry.indexOf('"epoch"') < entry.indexOf('"grad_norm"'));
  assert.ok(entry.indexOf('"grad_norm"') < entry.indexOf('"learning_rate"'));
  assert.ok(entry.indexOf('"loss"') < entry.indexOf('"step"'));
  assert.ok(text.indexOf('"best_global_step"') < text.indexOf('"epoch"'));
  assert.ok(text.endsWith('}\n'));
});

test('NaN and Infinity are written as Python literals and read back', () => {
  const text = pythonJson({ a: NaN, b: Infinity, c: -Infinity, d: 'NaN in a string' });
  assert.match(text, /"a": NaN/);
  assert.match(text, /"b": Infinity/);
  assert.match(text, /"c": -Infinity/);
  const back = parsePythonJson(text) as Record<string, unknown>;
  assert.ok(Number.isNaN(back.a));
  assert.equal(back.b, Infinity);
  assert.equal(back.c, -Infinity);
  assert.equal(back.d, 'NaN in a string');
});
