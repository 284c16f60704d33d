// The extension's reading of eval_report.json: the panel gets names and counts, the extension
// keeps the data file's path and each example's line for the click; no report means none shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { PANEL_EXAMPLES, readEvalReport } from '../../src/extension/evalReport';
import { MISCLASSIFIED_CAP, evalReport, writeEvalReport } from '../../src/trainer/loop/evalReport';
import { emptyModel, reduce } from '../../webview/model';

test('a run directory without eval_report.json has no report', () => {
  assert.equal(readEvalReport(tempDir('no-report')), undefined);
});

test('the report written by evaluate reads back with its matrix, scores and example lines', () => {
  const dir = tempDir('report-read');
  const data = path.join(dir, 'eval.jsonl');
  const n = PANEL_EXAMPLES + 10;
  // Every row is class 0 predicted as class 1, so every row is a mistake.
  const predictions = new Float32Array(n * 2).map((_, i) => (i % 2 ? 1 : 0));
  const report = evalReport({ predictions, labelIds: new Float64Array(n), n, width: 2 },
    { problemType: 'single_label_classification', numLabels: 2, names: ['neg', 'pos'], dataFile: data, lineOf: (i) => i + 1, checkpoint: 'checkpoint-4' });
  writeEvalReport(dir, report);
  const loaded = readEvalReport(dir)!;
  assert.equal(loaded.dataFile, data);
  assert.equal(loaded.view.dataFile, 'eval.jsonl');
  assert.equal(loaded.view.checkpoint, 'checkpoint-4');
  assert.deepEqual(loaded.view.confusionMatrix, [[0, n], [0, 0]]);
  assert.equal(loaded.view.misclassifiedTotal, n);
  assert.equal(loaded.view.misclassified.length, PANEL_EXAMPLES);
  assert.equal(loaded.lines.length, Math.min(n, MISCLASSIFIED_CAP));
  assert.deepEqual(loaded.view.misclassified[3], { index: 3, line: 4, trueLabel: 'neg', predictedLabel: 'pos', probability: loaded.view.misclassified[3].probability });
});

test('a report that is not JSON is ignored rather than shown half-read', () => {
  const dir = tempDir('report-bad');
  fs.writeFileSync(path.join(dir, 'eval_report.json'), '{"labels": [');
  assert.equal(readEvalReport(dir), undefined);
});

test('the webview keeps the report a message brings for its run', () => {
  const model = emptyModel();
  reduce(model, { type: 'snapshot', runs: [{ id: 'r', label: 'moons', status: 'finished', progress: null, series: {} }] });
  const report = { checkpoint: null, dataFile: 'eval.jsonl', position: 'line' as const, numSamples: 1, labels: ['a', 'b'], confusionMatrix: [[1, 0], [0, 0]],
    perClass: [], accuracy: 1, macroF1: 0.5, weightedF1: 1, misclassified: [], misclassifiedTotal: 0 };
  assert.equal(reduce(model, { type: 'evalReport', runId: 'r', report }), true);
  assert.equal(model.runs.get('r')!.evalReport, report);
  assert.equal(reduce(model, { type: 'evalReport', runId: 'other', report }), false);
});
