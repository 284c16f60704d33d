// From log entries to chart series, and downsampling for long runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Point } from '../../src/webviewProtocol';
import { downsample, downsampleSet, metricsOf, seriesOf } from '../../src/extension/series';
import { taskMetricNames } from '../../src/trainer/loop/taskMetrics';
import { metricTitle } from '../../webview/model';

test('training logs give loss, learning rate and grad norm; evaluations their metrics without speeds; the summary nothing', () => {
  assert.deepEqual(metricsOf({ loss: 0.5, grad_norm: 2, learning_rate: 1e-3, epoch: 1, step: 10 }), [['loss', 0.5], ['learning_rate', 1e-3], ['grad_norm', 2]]);
  assert.deepEqual(metricsOf({ eval_loss: 0.4, eval_accuracy: 0.9, eval_runtime: 1, eval_samples_per_second: 5, eval_steps_per_second: 1, epoch: 1, step: 10 }), [['eval_loss', 0.4], ['eval_accuracy', 0.9]]);
  assert.deepEqual(metricsOf({ train_runtime: 3, train_loss: 0.2, epoch: 1, step: 10 }), []);
  assert.deepEqual(metricsOf({ loss: NaN, grad_norm: Infinity, step: 1 }), [], 'non-finite values are not drawn');
});

test('series are grouped by metric with the step as x', () => {
  const s = seriesOf([{ loss: 1, step: 10 }, { eval_loss: 0.9, step: 10 }, { loss: 0.8, step: 20 }]);
  assert.deepEqual(s, { loss: [[10, 1], [20, 0.8]], eval_loss: [[10, 0.9]] });
});

test('downsampling keeps the budget, the first and last points, and a spike', () => {
  const pts: Point[] = Array.from({ length: 10_000 }, (_, i) => [i, Math.sin(i / 500)]);
  pts[4321] = [4321, 50];
  const d = downsample(pts, 300);
  assert.equal(d.length, 300);
  assert.deepEqual(d[0], pts[0]);
  assert.deepEqual(d[d.length - 1], pts[pts.length - 1]);
  assert.ok(d.some((p) => p[1] === 50), 'the spike survives');
  for (let i = 1; i < d.length; i++) assert.ok(d[i][0] > d[i - 1][0], 'steps stay in order');
});

test('short series are not downsampled', () => {
  const pts: Point[] = [[1, 1], [2, 2], [3, 3]];
  assert.deepEqual(downsample(pts, 10), pts);
  assert.notEqual(downsample(pts, 10), pts, 'a copy, never the caller\'s array');
  assert.deepEqual(downsampleSet({ a: pts }, 2), { a: pts }, 'a budget below 3 keeps everything');
});

test('every task\'s evaluation metrics become chart series with a readable title', () => {
  for (const task of ['token-classification', 'question-answering', 'text-generation', 'fill-mask'] as const) {
    const names = taskMetricNames(task);
    const entry = Object.fromEntries([['eval_loss', 0.5], ...names.map((n, i) => [`eval_${n}`, i + 1]), ['eval_runtime', 2], ['step', 4]]);
    assert.deepEqual(metricsOf(entry).map(([k]) => k), ['eval_loss', ...names.map((n) => `eval_${n}`)], task);
    for (const n of names) assert.equal(metricTitle(`eval_${n}`), `Evaluation ${n.replace(/_/g, ' ')}`);
  }
});
