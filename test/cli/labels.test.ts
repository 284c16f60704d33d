// Labels: text labels become ids (sorted names), id2label / label2id are saved beside every model,
// predict names its predictions, and labels that are not 0..n-1 or unknown are clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, runCli, tempDir, writeConfig } from '../helpers';

const NAMES = ['cat', 'dog', 'fish'];

function data(dir: string, file: string, labels: unknown[]) {
  const lines = labels.map((l, i) => JSON.stringify({ features: [Math.cos(i), Math.sin(i), (i % 3) - 1], labels: l }));
  fs.writeFileSync(path.join(dir, file), lines.join('\n') + '\n');
}

function config(dir: string, extra: Record<string, unknown> = {}, model: Record<string, unknown> = {}) {
  return writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [8], num_labels: 3, ...model },
    data: { train: 'train.jsonl', eval: 'eval.jsonl', test: 'test.jsonl' },
    training: { output_dir: 'out', max_steps: 3, per_device_train_batch_size: 4, save_steps: 3, ...extra },
  });
}

test('text labels become ids in sorted order, and config.json beside each model names them', () => {
  const dir = tempDir('labels');
  data(dir, 'train.jsonl', Array.from({ length: 12 }, (_, i) => NAMES[(i * 7) % 3]));
  data(dir, 'eval.jsonl', ['fish', 'cat', 'dog']);
  data(dir, 'test.jsonl', ['dog', 'cat']);
  const file = config(dir);
  const r = runCli(['train', file]);
  assert.equal(r.code, 0, r.stderr);
  for (const where of ['out', path.join('out', 'checkpoint-3')]) {
    const card = readJson(path.join(dir, where, 'config.json'));
    assert.deepEqual(card.id2label, { 0: 'cat', 1: 'dog', 2: 'fish' });
    assert.deepEqual(card.label2id, { cat: 0, dog: 1, fish: 2 });
  }
  const p = runCli(['predict', file]);
  assert.equal(p.code, 0, p.stderr);
  const rows = fs.readFileSync(path.join(dir, 'out', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((x) => x.label), [1, 0]);
  for (const row of rows) {
    assert.equal(row.logits.length, 3);
    assert.equal(row.predicted_label_name, NAMES[row.predicted_label]);
  }
  assert.match(p.stdout, /"test_accuracy"/);
  const e = runCli(['evaluate', file, '--checkpoint', path.join(dir, 'out', 'checkpoint-3')]);
  assert.equal(e.code, 0, e.stderr);
  assert.ok('eval_accuracy' in JSON.parse(e.stdout));
});

test('a label at evaluation time that training never saw is an error naming the line', () => {
  const dir = tempDir('labels-unknown');
  data(dir, 'train.jsonl', Array.from({ length: 9 }, (_, i) => NAMES[i % 3]));
  data(dir, 'eval.jsonl', ['cat', 'bird']);
  data(dir, 'test.jsonl', ['cat']);
  const r = runCli(['train', config(dir, { eval_strategy: 'steps', eval_steps: 1 })]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /eval\.jsonl:2: label "bird": not one of the labels the model was trained on \(cat, dog, fish\)/);
  assert.equal(fs.existsSync(path.join(dir, 'out')), false);
});

test('class ids that are not contiguous 0..n-1 are refused before training', () => {
  const dir = tempDir('labels-gap');
  data(dir, 'train.jsonl', [0, 2, 0, 2, 0, 2]);
  data(dir, 'eval.jsonl', [0]);
  data(dir, 'test.jsonl', [0]);
  const r = runCli(['train', config(dir)]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /train\.jsonl: labels are not contiguous: class id 1 never occurs, but num_labels is 3/);
});

test('more label names than num_labels is refused, naming the key', () => {
  const dir = tempDir('labels-count');
  data(dir, 'train.jsonl', ['a', 'b', 'c', 'd']);
  data(dir, 'eval.jsonl', ['a']);
  data(dir, 'test.jsonl', ['a']);
  const r = runCli(['train', config(dir)]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /trainer\.yaml:\d+: model\.num_labels: is 3, but the training labels have 4 names \(a, b, c, d\)/);
});

test('explicit id2label maps text labels and is saved', () => {
  const dir = tempDir('labels-explicit');
  data(dir, 'train.jsonl', ['neg', 'pos', 'neg', 'pos']);
  data(dir, 'eval.jsonl', ['pos']);
  data(dir, 'test.jsonl', ['pos']);
  const r = runCli(['train', config(dir, {}, { num_labels: 2, id2label: ['pos', 'neg'] })]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readJson(path.join(dir, 'out', 'config.json')).id2label, { 0: 'pos', 1: 'neg' });
});

test('multi-label targets may be lists of label names', () => {
  const dir = tempDir('labels-multi');
  const sets = [['news'], ['sports', 'news'], ['tech'], [], ['tech', 'sports']];
  data(dir, 'train.jsonl', sets);
  data(dir, 'eval.jsonl', [['news']]);
  data(dir, 'test.jsonl', [['tech']]);
  const r = runCli(['train', config(dir, {}, { problem_type: 'multi_label_classification', num_labels: 3 })]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readJson(path.join(dir, 'out', 'config.json')).id2label, { 0: 'news', 1: 'sports', 2: 'tech' });
});
