// `onnx-trainer try`: one input through the predict path, answered in the task's form — what the
// editor's Try view shows. Real CLI, real models trained here, real files.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, tempDir, writeConfig } from '../helpers';
import { twoMoons } from '../../src/extension/scaffold';
import { tryFormOf } from '../../src/extension/tryForm';
import { PNG } from 'pngjs';

let textConfig = '';
let moonsConfig = '';

before(() => {
  const dir = tempDir('try');
  const lines = Array.from({ length: 24 }, (_, i) => JSON.stringify({ text: i % 2 ? 'the film was awful and poor' : 'the film was great and fine', label: i % 2 ? 'neg' : 'pos' }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  textConfig = writeConfig(dir, {
    model: { builtin: 'bert', tokenizer: 'train', vocab_size: 40, num_hidden_layers: 1, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 2 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 6, per_device_train_batch_size: 8, save_steps: 6, learning_rate: 0.01, report_to: 'none' },
  }, 'text.yaml');
  assert.equal(runCli(['train', textConfig]).code, 0);
  fs.writeFileSync(path.join(dir, 'moons.jsonl'), twoMoons(64, 1));
  moonsConfig = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [8], num_labels: 2 },
    data: { train: 'moons.jsonl' },
    training: { output_dir: 'out-moons', max_steps: 4, per_device_train_batch_size: 16, report_to: 'none' },
  }, 'moons.yaml');
  assert.equal(runCli(['train', moonsConfig]).code, 0);
});

test('a text classifier answers a sentence with every label and its probability, best first', () => {
  const r = runCli(['try', textConfig, '--checkpoint', path.join(path.dirname(textConfig), 'out', 'checkpoint-6'), '--text', 'the film was great']);
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(r.stdout) as { kind: string; labels: { label: string; score: number; predicted: boolean }[] };
  assert.equal(answer.kind, 'labels');
  assert.deepEqual(answer.labels.map((l) => l.label).sort(), ['neg', 'pos'], 'the label names the run learned');
  assert.ok(Math.abs(answer.labels.reduce((s, l) => s + l.score, 0) - 1) < 1e-6, 'probabilities sum to 1');
  assert.ok(answer.labels[0].score >= answer.labels[1].score && answer.labels[0].predicted && !answer.labels[1].predicted);
});

test('a tabular model answers a data record; the final model is used without --checkpoint; --output writes the answer', () => {
  const output = path.join(path.dirname(moonsConfig), 'answer.json');
  const r = runCli(['try', moonsConfig, '--record', '{"features": [0.5, -0.3]}', '--output', output]);
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(fs.readFileSync(output, 'utf8')) as { kind: string; labels: { label: string }[] };
  assert.equal(answer.kind, 'labels');
  assert.equal(answer.labels.length, 2);
});

test('an input the model cannot read is refused in one line naming the input, not a temporary file', () => {
  for (const [args, says] of [
    [['--text', 'hello'], /^error: the input: the built-in mlp reads column "features"/],
    [['--record', '{"features": [1'], /^error: --record: expected a data record as JSON/],
    [[], /^error: try needs an input/],
  ] as [string[], RegExp][]) {
    const r = runCli(['try', moonsConfig, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), says);
    assert.doesNotMatch(r.stderr, /onnx-trainer-try-/);
  }
});

test('the Try view offers the inputs the saved model takes: text (and a pair) for a text classifier, a data record for a tabular one, an image for an image model', () => {
  assert.equal(tryFormOf(path.join(path.dirname(textConfig), 'out', 'checkpoint-6')), 'pair');
  assert.equal(tryFormOf(path.join(path.dirname(moonsConfig), 'out-moons')), 'record');
  const images = tempDir('try-image');
  fs.writeFileSync(path.join(images, 'preprocessor_config.json'), '{"do_rescale": true}');
  fs.writeFileSync(path.join(images, 'config.json'), '{"trainer": {"task": "text-classification"}}');
  assert.equal(tryFormOf(images), 'image');
  fs.writeFileSync(path.join(images, 'config.json'), '{"trainer": {"task": "question-answering"}}');
  assert.equal(tryFormOf(images), 'qa');
});

test('an image model trained from an image folder answers a PNG with its class names', () => {
  const dir = tempDir('try-images');
  for (const [label, value] of [['dark', 20], ['light', 230]] as [string, number][]) {
    fs.mkdirSync(path.join(dir, 'train', label), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const png = new PNG({ width: 8, height: 8, colorType: 0 });
      png.data.fill(value + i);
      fs.writeFileSync(path.join(dir, 'train', label, `${i}.png`), PNG.sync.write(png, { colorType: 0 }));
    }
  }
  const config = writeConfig(dir, {
    model: { builtin: 'cnn', channels: [4], num_labels: 2 },
    data: { train: 'train' },
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 4, report_to: 'none' },
  });
  assert.equal(runCli(['train', config]).code, 0);
  assert.equal(tryFormOf(path.join(dir, 'out')), 'image');
  const r = runCli(['try', config, '--image', path.join(dir, 'train', 'light', '0.png')]);
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(r.stdout) as { labels: { label: string }[] };
  assert.deepEqual(answer.labels.map((l) => l.label).sort(), ['dark', 'light']);
  const bad = runCli(['try', config, '--image', path.join(dir, 'missing.png')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /missing\.png/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});
