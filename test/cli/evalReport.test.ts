// `onnx-trainer evaluate` writes eval_report.json into output_dir: a confusion matrix over the
// whole eval set, and misclassified examples whose line in the data file holds that very label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, runCli, tempDir, writeConfig } from '../helpers';
import { twoMoons } from '../../src/extension/scaffold';
import type { EvalReport } from '../../src/trainer/loop/evalReport';
import { readEvalReport } from '../../src/extension/evalReport';
import { PNG } from 'pngjs';

function moons(name: string, model: Record<string, unknown> = {}): { dir: string; file: string } {
  const dir = tempDir(name);
  fs.writeFileSync(path.join(dir, 'train.jsonl'), twoMoons(400, 1));
  fs.writeFileSync(path.join(dir, 'eval.jsonl'), twoMoons(200, 2));
  const file = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [16], num_labels: 2, ...model },
    data: { train: 'train.jsonl', eval: 'eval.jsonl' },
    training: { output_dir: 'out', max_steps: 4, per_device_train_batch_size: 32, save_steps: 2 },
  });
  const trained = runCli(['train', file]);
  assert.equal(trained.code, 0, trained.stderr);
  return { dir, file };
}

test('evaluate writes eval_report.json whose confusion matrix covers the 200 eval samples and whose mistakes point at their lines', () => {
  const { dir, file } = moons('eval-report');
  const r = runCli(['evaluate', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok('eval_accuracy' in JSON.parse(r.stdout), 'stdout stays the metrics JSON');
  const report = readJson(path.join(dir, 'out', 'eval_report.json')) as unknown as EvalReport & { confusion_matrix: number[][] };
  assert.equal(report.checkpoint, null);
  assert.equal(report.data_file, path.join(dir, 'eval.jsonl'));
  assert.deepEqual(report.labels, ['LABEL_0', 'LABEL_1']);
  const cells: number[] = report.confusion_matrix.flat();
  assert.equal(cells.reduce((a, b) => a + b, 0), 200);
  const offDiagonal = report.confusion_matrix[0][1] + report.confusion_matrix[1][0];
  assert.equal(report.misclassified_total, offDiagonal);
  assert.equal(report.misclassified.length, offDiagonal);
  // Four steps leave a weak model, so there are mistakes to check against the file itself.
  assert.ok(offDiagonal > 0);
  const lines = fs.readFileSync(path.join(dir, 'eval.jsonl'), 'utf8').split('\n');
  for (const m of report.misclassified) {
    assert.equal(JSON.parse(lines[m.line - 1]).labels, m.true_label);
    assert.notEqual(m.predicted_label, m.true_label);
    assert.ok(m.probability! >= 0.5 && m.probability! <= 1);
  }
  const correct = report.confusion_matrix[0][0] + report.confusion_matrix[1][1];
  assert.equal(report.accuracy, correct / 200);
});

test('evaluate --checkpoint writes the report into output_dir, naming the checkpoint', () => {
  const { dir, file } = moons('eval-report-checkpoint');
  const r = runCli(['evaluate', file, '--checkpoint', path.join(dir, 'out', 'checkpoint-2')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((readJson(path.join(dir, 'out', 'eval_report.json')) as unknown as EvalReport).checkpoint, 'checkpoint-2');
  assert.equal(fs.existsSync(path.join(dir, 'out', 'checkpoint-2', 'eval_report.json')), false);
});

test('evaluate writes no eval_report.json for regression, which has no classes to confuse', () => {
  const { dir, file } = moons('eval-report-regression', { num_labels: 1, problem_type: 'regression' });
  const r = runCli(['evaluate', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok('eval_loss' in JSON.parse(r.stdout));
  assert.equal(fs.existsSync(path.join(dir, 'out', 'eval_report.json')), false);
});

test('on image data, each misclassified example names its image file, which the panel opens', () => {
  const dir = tempDir('report-images');
  const write = (split: string, label: string, value: number, n: number) => {
    fs.mkdirSync(path.join(dir, split, label), { recursive: true });
    for (let i = 0; i < n; i++) {
      const png = new PNG({ width: 8, height: 8, colorType: 0 });
      png.data.fill(value + i);
      fs.writeFileSync(path.join(dir, split, label, `${i}.png`), PNG.sync.write(png, { colorType: 0 }));
    }
  };
  write('train', 'dark', 10, 6);
  write('train', 'light', 240, 6);
  // Light images filed as dark: mistakes the model is sure to make.
  write('eval', 'dark', 235, 3);
  write('eval', 'light', 245, 3);
  const file = writeConfig(dir, {
    model: { builtin: 'cnn', channels: [4], num_labels: 2 },
    data: { train: 'train', eval: 'eval' },
    training: { output_dir: 'out', max_steps: 30, per_device_train_batch_size: 4, learning_rate: 0.01, report_to: 'none' },
  });
  assert.equal(runCli(['train', file]).code, 0);
  const r = runCli(['evaluate', file]);
  assert.equal(r.code, 0, r.stderr);
  const report = readJson(path.join(dir, 'out', 'eval_report.json')) as unknown as EvalReport;
  assert.ok(report.misclassified.length > 0, 'some mistakes');
  for (const m of report.misclassified) {
    assert.ok(m.image && fs.existsSync(m.image), `an existing image file: ${m.image}`);
    assert.equal(path.basename(path.dirname(m.image)), m.true_label_name, 'in the folder of its true class');
  }
  const loaded = readEvalReport(path.join(dir, 'out'))!;
  assert.deepEqual(loaded.images, report.misclassified.map((m) => m.image));
  assert.equal(loaded.view.misclassified[0].image, path.basename(report.misclassified[0].image!));
});
