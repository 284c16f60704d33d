// Reading a run's log history from its run directory, incrementally, as the trainer appends it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogHistory, mergeEntry, parseLogLine } from '../../src/extension/logHistory';
import { tempDir } from '../helpers';
import { pythonJson } from '../../src/trainer/loop/state';

const line = (o: object) => JSON.stringify(o) + '\n';

test('a log line keeps numbers, Python\'s NaN and Infinity literals included, and drops the rest', () => {
  const e = parseLogLine('{"loss": NaN, "grad_norm": Infinity, "x": -Infinity, "learning_rate": 0.1, "step": 3, "note": "NaN text"}')!;
  assert.ok(Number.isNaN(e.loss));
  assert.equal(e.grad_norm, Infinity);
  assert.equal(e.x, -Infinity);
  assert.equal(e.step, 3);
  assert.equal('note' in e, false);
  assert.equal(parseLogLine('not json'), undefined);
  assert.equal(parseLogLine('{"loss":1}'), undefined, 'an entry without a step is not a log_history entry');
});

test('only lines the trainer has finished writing are read; the rest waits for the next sync', () => {
  const dir = tempDir('log');
  const file = path.join(dir, 'trainer_log.jsonl');
  const h = new LogHistory(dir);
  assert.deepEqual(h.sync(), { appended: [], reset: false });
  fs.writeFileSync(file, line({ loss: 1, step: 10 }) + '{"loss": 0.9, "st');
  assert.deepEqual(h.sync().appended, [{ loss: 1, step: 10 }]);
  fs.appendFileSync(file, 'ep": 20}\n' + line({ eval_loss: 0.8, step: 20 }));
  const r = h.sync();
  assert.equal(r.reset, false);
  assert.deepEqual(r.appended, [{ loss: 0.9, step: 20 }, { eval_loss: 0.8, step: 20 }]);
  assert.equal(h.entries.length, 3);
  assert.deepEqual(h.sync(), { appended: [], reset: false });
});

test('a resumed run rewinds the history to its checkpoint step', () => {
  const entries = [10, 20, 30, 40].map((step) => ({ loss: 1 / step, step }));
  assert.equal(mergeEntry(entries, { loss: 9, step: 30 }), 'rewound');
  assert.deepEqual(entries.map((e) => e.step), [10, 20, 30]);
  assert.equal(entries[2].loss, 9);
  assert.equal(mergeEntry(entries, { eval_loss: 1, step: 30 }), 'appended', 'an evaluation at the same step is appended');
});

test('a rewind in the file is reported as a reset, so views redraw the whole history', () => {
  const dir = tempDir('log');
  const file = path.join(dir, 'trainer_log.jsonl');
  fs.writeFileSync(file, [10, 20, 30].map((s) => line({ loss: 1, step: s })).join(''));
  const h = new LogHistory(dir);
  h.sync();
  fs.appendFileSync(file, line({ loss: 2, step: 20 }));
  assert.deepEqual(h.sync(), { appended: [], reset: true });
  assert.deepEqual(h.entries.map((e) => e.step), [10, 20]);
});

test('a log file replaced by a shorter one (a new run in the same directory) is read again from the start', () => {
  const dir = tempDir('log');
  const file = path.join(dir, 'trainer_log.jsonl');
  fs.writeFileSync(file, [10, 20, 30].map((s) => line({ loss: 1, step: s })).join(''));
  const h = new LogHistory(dir);
  h.sync();
  fs.writeFileSync(file, line({ loss: 5, step: 10 }));
  assert.equal(h.sync().reset, true);
  assert.deepEqual(h.entries, [{ loss: 5, step: 10 }]);
});

test('without trainer_log.jsonl, the history comes from trainer_state.json (runs written by Hugging Face)', () => {
  const dir = tempDir('log');
  fs.writeFileSync(path.join(dir, 'trainer_state.json'), '{"global_step": 2, "log_history": [{"loss": NaN, "step": 1}, {"loss": 0.5, "step": 2}]}');
  const h = new LogHistory(dir);
  assert.equal(h.sync().reset, true);
  assert.equal(h.entries.length, 2);
  assert.ok(Number.isNaN(h.entries[0].loss));
  assert.deepEqual(h.sync(), { appended: [], reset: false }, 'an unchanged file is not read again');
});

test('the trainer writes log lines in the one encoding the extension reads: key order kept, NaN and Infinity as literals', () => {
  const line = pythonJson({ loss: NaN, grad_norm: Infinity, learning_rate: 0.001, epoch: 0.5, step: 4 }, 0, false);
  assert.equal(line, '{"loss": NaN, "grad_norm": Infinity, "learning_rate": 0.001, "epoch": 0.5, "step": 4}\n');
  const e = parseLogLine(line)!;
  assert.deepEqual(Object.keys(e), ['loss', 'grad_norm', 'learning_rate', 'epoch', 'step']);
  assert.ok(Number.isNaN(e.loss) && e.grad_norm === Infinity && e.step === 4);
});
