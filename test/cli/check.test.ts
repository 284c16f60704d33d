// `onnx-trainer check` lists operators and trainable parameters; an operator without a gradient
// rule on the gradient path is named, by `check` and by `train` (exit code 2, before any output).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph } from '../../src/trainer/onnx/graph';
import { saveModel } from '../../src/trainer/onnx/model';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { FIXTURES, runCli, tempDir, writeConfig } from '../helpers';

/** A model with ThresholdedRelu, an operator PyTorch does not export and Trainer has no rule for. */
function modelWithoutRule(dir: string): string {
  const g = new Graph();
  g.opset = 17;
  g.inputs.push({ name: 'features', type: DataType.FLOAT, shape: ['batch', 2] });
  g.outputs.push({ name: 'logits', type: DataType.FLOAT, shape: ['batch', 2] });
  g.initializers.set('w', fromNumbers(DataType.FLOAT, [2, 2], [1, 0, 0, 1]));
  g.nodes.push({ name: 'linear', op: 'MatMul', domain: '', inputs: ['features', 'w'], outputs: ['h'], attrs: new Map() });
  g.nodes.push({ name: 'gate', op: 'ThresholdedRelu', domain: '', inputs: ['h'], outputs: ['logits'], attrs: new Map() });
  const file = path.join(dir, 'thresholded.onnx');
  saveModel(file, g);
  return file;
}

test('check lists operators, parameters with shapes, and says the model can be trained', () => {
  const r = runCli(['check', path.join(FIXTURES, 'parity', 'cnn', 'model.onnx')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /BatchNormalization\s+×2\s+gradient/);
  assert.match(r.stdout, /conv1\.weight\s+\[4, 1, 3, 3\]/);
  assert.match(r.stdout, /bn1\.bias\s+\[4\]\s+\(no weight decay\)/);
  assert.match(r.stdout, /batch-norm running statistics \(updated, not trained\): bn1\.running_mean/);
  assert.match(r.stdout, /ok: every operator on the gradient path has a rule/);
});

test('check names an operator without a gradient rule and exits 2', () => {
  const r = runCli(['check', modelWithoutRule(tempDir('no-rule'))]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /ThresholdedRelu\s+×1\s+no gradient rule/);
  assert.match(r.stdout, /ThresholdedRelu node "gate"/);
});

test('train refuses a model with an unsupported operator, naming the op and the node', () => {
  const dir = tempDir('no-rule-train');
  modelWithoutRule(dir);
  fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"features": [1, 2], "labels": 0}\n{"features": [3, 4], "labels": 1}\n');
  const r = runCli(['train', writeConfig(dir, { model: { path: 'thresholded.onnx', num_labels: 2 }, data: { train: 'train.jsonl' }, training: { output_dir: 'out' } })]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no gradient rule for ThresholdedRelu node "gate" \(op ThresholdedRelu\)/);
  assert.equal(fs.existsSync(path.join(dir, 'out')), false);
});

/** A one-layer model with `extra` as a second node: on a side branch, or between the layer and the output. */
function modelWith(dir: string, name: string, extra: { op: string; domain: string }, where: 'side' | 'main' | 'no parameters'): string {
  const g = new Graph();
  g.opset = 17;
  g.inputs.push({ name: 'features', type: DataType.FLOAT, shape: ['batch', 2] });
  g.outputs.push({ name: 'logits', type: DataType.FLOAT, shape: ['batch', 2] });
  if (where === 'no parameters') {
    g.nodes.push({ name: 'act', op: 'Relu', domain: '', inputs: ['features'], outputs: ['logits'], attrs: new Map() });
  } else {
    g.initializers.set('w', fromNumbers(DataType.FLOAT, [2, 2], [1, 0, 0, 1]));
    g.nodes.push({ name: 'linear', op: 'MatMul', domain: '', inputs: ['features', 'w'], outputs: [where === 'main' ? 'h' : 'logits'], attrs: new Map() });
    if (where === 'main') g.nodes.push({ name: 'odd', op: extra.op, domain: extra.domain, inputs: ['h'], outputs: ['logits'], attrs: new Map() });
    else {
      g.outputs.push({ name: 'side', type: DataType.FLOAT, shape: ['batch', 2] });
      g.nodes.push({ name: 'odd', op: extra.op, domain: extra.domain, inputs: ['features'], outputs: ['side'], attrs: new Map() });
    }
  }
  const file = path.join(dir, `${name}.onnx`);
  saveModel(file, g);
  return file;
}

test('check does not vouch for an operator it does not know on a side branch: it names it and exits 2', () => {
  // Acosh: a standard operator with neither a gradient rule nor a shape rule.
  const r = runCli(['check', modelWith(tempDir('acosh'), 'acosh', { op: 'Acosh', domain: '' }, 'side')]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /not verified: .*\n\s+Acosh node "odd"/);
  assert.doesNotMatch(r.stdout, /^ok/m);
});

test('check names an unknown custom-domain operator on the output path', () => {
  const r = runCli(['check', modelWith(tempDir('custom'), 'custom', { op: 'FancyNorm', domain: 'com.example' }, 'main')]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /com\.example\.FancyNorm node "odd"/);
  assert.doesNotMatch(r.stdout, /^ok/m);
});

test('check says a model without trainable parameters cannot be trained', () => {
  const r = runCli(['check', modelWith(tempDir('noparams'), 'noparams', { op: 'Relu', domain: '' }, 'no parameters')]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /trainable parameters: 0 tensors/);
  assert.match(r.stdout, /not trainable: .*nothing to train/);
  assert.doesNotMatch(r.stdout, /^ok/m);
});
