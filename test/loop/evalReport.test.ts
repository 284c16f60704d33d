// eval_report.json's numbers: sklearn's confusion_matrix (rows true, columns predicted) and
// classification_report (per class, zero division → 0, macro and weighted averages), the
// misclassified examples with their lines, most confident first and capped, and multi-label's
// per-label scores. Expected values are worked out by hand in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISCLASSIFIED_CAP, evalReport } from '../../src/trainer/loop/evalReport';
import { EvalPrediction } from '../../src/trainer/loop/metrics';

/** Logits that put `scale` on the predicted class and 0 elsewhere. */
function prediction(gold: number[], pred: number[], width: number, scale: (i: number) => number = () => 2): EvalPrediction {
  const predictions = new Float32Array(gold.length * width);
  pred.forEach((c, i) => (predictions[i * width + c] = scale(i)));
  return { predictions, labelIds: Float64Array.from(gold), n: gold.length, width };
}

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

const source = { problemType: 'single_label_classification' as const, dataFile: '/data/eval.jsonl', lineOf: (i: number) => i + 1, checkpoint: null };

test('three classes: the confusion matrix has true labels as rows and predictions as columns', () => {
  const gold = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const pred = [0, 0, 1, 1, 2, 2, 2, 2, 0];
  const r = evalReport(prediction(gold, pred, 3), { ...source, numLabels: 3, names: ['cat', 'dog', 'fish'] });
  assert.deepEqual(r.confusion_matrix, [[2, 1, 0], [0, 1, 1], [1, 0, 3]]);
  assert.deepEqual(r.labels, ['cat', 'dog', 'fish']);
  assert.equal(r.num_samples, 9);
  assert.equal(r.position, 'line');
});

test('three classes: per-class precision, recall, F1 and support as sklearn\'s classification_report', () => {
  const gold = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const pred = [0, 0, 1, 1, 2, 2, 2, 2, 0];
  const r = evalReport(prediction(gold, pred, 3), { ...source, numLabels: 3 });
  // cat: tp 2, fp 1 (a fish), fn 1 → 2/3 each; dog: tp 1, fp 1, fn 1 → 1/2; fish: tp 3, fp 1, fn 1 → 3/4.
  const expected = [[2 / 3, 3], [1 / 2, 2], [3 / 4, 4]];
  r.per_class.forEach((c, k) => {
    assert.equal(c.label, `LABEL_${k}`);
    close(c.precision, expected[k][0]);
    close(c.recall, expected[k][0]);
    close(c.f1, expected[k][0]);
    assert.equal(c.support, expected[k][1]);
  });
  close(r.accuracy, 6 / 9);
  // macro: (2/3 + 1/2 + 3/4) / 3 = 23/36; weighted: (3·2/3 + 2·1/2 + 4·3/4) / 9 = 6/9.
  close(r.macro_avg.f1, 23 / 36);
  close(r.macro_avg.precision, 23 / 36);
  close(r.weighted_avg.recall, 6 / 9);
  assert.equal(r.weighted_avg.support, 9);
});

test('a class never predicted and never present scores 0, not NaN (zero_division=0)', () => {
  const r = evalReport(prediction([0, 1, 1, 0], [0, 1, 0, 0], 3), { ...source, numLabels: 3 });
  assert.deepEqual(r.per_class[2], { label: 'LABEL_2', precision: 0, recall: 0, f1: 0, support: 0 });
  // LABEL_1 is predicted once and right: precision 1, recall 1/2, F1 2/3.
  close(r.per_class[1].f1, 2 / 3);
  close(r.macro_avg.f1, (r.per_class[0].f1 + 2 / 3 + 0) / 3);
});

test('misclassified examples name their line, both labels and the softmax probability, most confident first', () => {
  const gold = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const pred = [0, 0, 1, 1, 2, 2, 2, 2, 0];
  const scale = (i: number) => ({ 2: 1, 4: 3, 8: 2 } as Record<number, number>)[i] ?? 2;
  const r = evalReport(prediction(gold, pred, 3, scale), { ...source, numLabels: 3, names: ['cat', 'dog', 'fish'] });
  assert.equal(r.misclassified_total, 3);
  assert.deepEqual(r.misclassified.map((m) => [m.line, m.true_label_name, m.predicted_label_name]), [[5, 'dog', 'fish'], [9, 'fish', 'cat'], [3, 'cat', 'dog']]);
  // Logits (0, 3, 0) at the predicted class: e³ / (e³ + 2).
  close(r.misclassified[0].probability!, Math.exp(3) / (Math.exp(3) + 2));
  assert.equal(r.misclassified[1].true_label, 2);
  assert.equal(r.misclassified[1].predicted_label, 0);
});

test(`at most ${MISCLASSIFIED_CAP} misclassified examples are stored; the total counts them all`, () => {
  const n = MISCLASSIFIED_CAP + 5;
  const r = evalReport(prediction(new Array(n).fill(0), new Array(n).fill(1), 2), { ...source, numLabels: 2 });
  assert.equal(r.misclassified.length, MISCLASSIFIED_CAP);
  assert.equal(r.misclassified_total, n);
  // Equal confidence: file order.
  assert.deepEqual(r.misclassified.slice(0, 3).map((m) => m.line), [1, 2, 3]);
});

test('records of a JSON array or Parquet file are numbered, not lines', () => {
  const r = evalReport(prediction([0], [1], 2), { ...source, numLabels: 2, dataFile: '/data/eval.parquet' });
  assert.equal(r.position, 'record');
});

test('multi-label: per-label scores with a logit above 0 meaning on, no confusion matrix', () => {
  // Rows (gold → predicted): {a} → {a}, {a,b} → {a}, {} → {b}.
  const predictions = Float32Array.of(1, -1, 1, -1, -1, 1);
  const labelIds = Float64Array.of(1, 0, 1, 1, 0, 0);
  const r = evalReport({ predictions, labelIds, n: 3, width: 2 }, { ...source, problemType: 'multi_label_classification', numLabels: 2, names: ['a', 'b'] });
  assert.equal(r.confusion_matrix, undefined);
  // a: tp 2 → precision 1, recall 1; b: tp 0, fp 1, fn 1 → 0.
  assert.deepEqual(r.per_class.map((c) => [c.precision, c.recall, c.f1, c.support]), [[1, 1, 1, 2], [0, 0, 0, 1]]);
  close(r.accuracy, 1 / 3);
  assert.deepEqual(r.misclassified.map((m) => [m.line, m.true_label_name, m.predicted_label_name]), [[2, 'a, b', 'a'], [3, '(none)', 'b']]);
});
