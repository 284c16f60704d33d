// The metrics panel's rendering logic: applying the extension's messages, choosing charts and
// colours, and the progress line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PanelRun, RunProgress } from '../../src/webviewProtocol';
import { colorOf, emptyModel, formatDuration, linesOf, metricNames, metricTitle, percent, progressText, reduce, setVisible, statusText } from '../../webview/model';

const PALETTE = ['blue', 'orange', 'green'];

function run(id: string, series: PanelRun['series'] = {}, status: PanelRun['status'] = 'idle'): PanelRun {
  return { id, label: id.toUpperCase(), status, progress: null, series };
}

test('a snapshot replaces everything, then appends extend the series in place', () => {
  const m = emptyModel();
  assert.ok(reduce(m, { type: 'snapshot', runs: [run('a', { loss: [[10, 1]] })] }));
  assert.ok(reduce(m, { type: 'append', runId: 'a', series: { loss: [[20, 0.5]], eval_loss: [[20, 0.6]] } }));
  assert.deepEqual(m.runs.get('a')!.series, { loss: [[10, 1], [20, 0.5]], eval_loss: [[20, 0.6]] });
  assert.equal(reduce(m, { type: 'append', runId: 'unknown', series: { loss: [[1, 1]] } }), false);
});

test('a run message replaces one run (a resume rewrote its history); a status message updates it', () => {
  const m = emptyModel();
  reduce(m, { type: 'snapshot', runs: [run('a', { loss: [[10, 1], [20, 0.5]] }), run('b')] });
  reduce(m, { type: 'run', run: run('a', { loss: [[10, 1]] }) });
  assert.deepEqual(m.runs.get('a')!.series.loss, [[10, 1]]);
  const progress: RunProgress = { step: 5, maxSteps: 10, epoch: 0.5, samplesPerSecond: 1234.5, etaSeconds: 65, loss: 0.25, startStep: 0 };
  reduce(m, { type: 'status', runId: 'a', status: 'running', progress });
  assert.equal(m.runs.get('a')!.status, 'running');
  assert.equal(statusText(m.runs.get('a')!), 'training');
  assert.equal(m.runs.get('b')!.status, 'idle');
});

test('charts are one per metric of the drawn runs: losses first, then the rest by name', () => {
  const m = emptyModel();
  reduce(m, { type: 'snapshot', runs: [
    run('a', { eval_f1: [[1, 1]], grad_norm: [[1, 1]], loss: [[1, 1]], learning_rate: [[1, 1]] }),
    run('b', { eval_accuracy: [[1, 1]], eval_loss: [[1, 1]], empty: [] }),
  ] });
  assert.deepEqual(metricNames(m), ['loss', 'eval_loss', 'learning_rate', 'grad_norm', 'eval_accuracy', 'eval_f1']);
  setVisible(m, 'b', false);
  assert.deepEqual(metricNames(m), ['loss', 'learning_rate', 'grad_norm', 'eval_f1']);
  assert.equal(metricTitle('eval_f1_macro'), 'Evaluation f1 macro');
  assert.equal(metricTitle('loss'), 'Training loss');
});

test('several runs overlay in a chart, each in a colour that does not change when others are hidden', () => {
  const m = emptyModel();
  reduce(m, { type: 'snapshot', runs: [run('a', { loss: [[1, 1]] }), run('b', { loss: [[1, 2]] }), run('c', { loss: [[1, 3]] })] });
  assert.deepEqual(linesOf(m, 'loss', PALETTE).map((l) => [l.label, l.color]), [['A', 'blue'], ['B', 'orange'], ['C', 'green']]);
  assert.deepEqual(setVisible(m, 'b', false), ['a', 'c']);
  assert.deepEqual(linesOf(m, 'loss', PALETTE).map((l) => [l.label, l.color]), [['A', 'blue'], ['C', 'green']]);
  assert.equal(colorOf(m, 'c', PALETTE), 'green');
  reduce(m, { type: 'focus', runId: 'b' });
  assert.equal(linesOf(m, 'loss', PALETTE).length, 3, 'focusing a run draws it again');
});

test('the visible runs survive a reload through the webview state', () => {
  const m = emptyModel(['b']);
  reduce(m, { type: 'snapshot', runs: [run('a', { loss: [[1, 1]] }), run('b', { loss: [[1, 2]] })] });
  assert.deepEqual(linesOf(m, 'loss', PALETTE).map((l) => l.label), ['B']);
});

test('the progress line has step, epoch, loss, samples/s, ETA and where a resumed run started', () => {
  const p: RunProgress = { step: 120, maxSteps: 470, epoch: 0.7659, samplesPerSecond: 1234.4, etaSeconds: 3725, loss: 0.123456, startStep: 0 };
  assert.equal(progressText(p), 'step 120/470 · epoch 0.77 · loss 0.1235 · 1,234 samples/s · ETA 1:02:05');
  assert.equal(progressText({ ...p, etaSeconds: null, loss: null, samplesPerSecond: 0, startStep: 100 }), 'step 120/470 · epoch 0.77 · resumed at step 100');
  assert.equal(percent(p).toFixed(2), '25.53');
  assert.equal(percent({ ...p, maxSteps: 0 }), 0);
  assert.equal(formatDuration(9), '0:09');
  assert.equal(formatDuration(245), '4:05');
});
