// Text data: tokenization with a tokenizer.json or a trained WordPiece vocabulary, sentence
// pairs, per-batch padding, Hugging Face-style model folders, and the errors for a missing text
// column or a missing or unreadable tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { trainWordPiece } from '../../src/trainer/text';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

const WORDS = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'film', 'plot', 'was', 'the', 'very', 'quite'];

function texts(dir: string, n: number, pair = false) {
  const lines = Array.from({ length: n }, (_, i) => {
    const good = i % 2 === 0;
    const words = [WORDS[8 + (i % 4)], WORDS[6 + (i % 2)], WORDS[(good ? 0 : 3) + (i % 3)]];
    const rec: Record<string, unknown> = pair ? { sentence1: words.join(' '), sentence2: words.slice(0, 1 + (i % 3)).join(' ') } : { text: words.slice(0, 1 + (i % 3)).join(' ') + ' ' + words[2] };
    rec.label = good ? 1 : 0;
    return JSON.stringify(rec);
  });
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
}

const BERT = { builtin: 'bert', num_hidden_layers: 1, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 2 };
const TRAINING = { output_dir: 'out', max_steps: 3, per_device_train_batch_size: 4, save_steps: 3, logging_steps: 1 };

test('a built-in bert trains on text with a trained WordPiece vocabulary, saved beside every model', () => {
  const dir = tempDir('text');
  texts(dir, 12);
  const file = writeConfig(dir, { model: { ...BERT, tokenizer: 'train', vocab_size: 40 }, data: { train: 'train.jsonl', test: 'train.jsonl' }, training: TRAINING });
  const r = runCli(['train', file]);
  assert.equal(r.code, 0, r.stderr);
  for (const where of ['out', 'out/checkpoint-3']) {
    const tok = readJson(path.join(dir, where, 'tokenizer.json')) as { model: { type: string; vocab: Record<string, number> } };
    assert.equal(tok.model.type, 'WordPiece');
    assert.ok('[CLS]' in tok.model.vocab && Object.keys(tok.model.vocab).length < 60);
  }
  // Predicting reads the tokenizer saved beside the model rather than retraining it.
  const p = runCli(['predict', file]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(fs.readFileSync(path.join(dir, 'out', 'predictions.jsonl'), 'utf8').trim().split('\n').length, 12);
});

test('sentence pairs train from two text columns', () => {
  const dir = tempDir('pairs');
  texts(dir, 12, true);
  const r = runCli(['train', writeConfig(dir, { model: { ...BERT, tokenizer: 'train', vocab_size: 40 }, data: { train: 'train.jsonl' }, training: TRAINING })]);
  assert.equal(r.code, 0, r.stderr);
});

test('a Hugging Face-style model folder (config.json + model.onnx + tokenizer.json) trains on text', () => {
  const dir = tempDir('folder');
  texts(dir, 12);
  const folder = path.join(dir, 'my-bert');
  fs.mkdirSync(folder);
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'bert', 'model.onnx'), path.join(folder, 'model.onnx'));
  // The fixture model has 50 word embeddings and 12 positions: a vocabulary that fits.
  const corpus = fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text as string);
  fs.writeFileSync(path.join(folder, 'tokenizer.json'), JSON.stringify(trainWordPiece(corpus, { vocabSize: 45, minFrequency: 1 })));
  fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ num_labels: 2, problem_type: 'single_label_classification', id2label: { 0: 'negative', 1: 'positive' } }));
  const r = runCli(['train', writeConfig(dir, { model: { path: 'my-bert' }, data: { train: 'train.jsonl', max_length: 12 }, training: TRAINING })]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readJson(path.join(dir, 'out', 'config.json')).id2label, { 0: 'negative', 1: 'positive' });
  assert.ok(fs.existsSync(path.join(dir, 'out', 'tokenizer.json')));
});

function rejected(dir: string, model: Record<string, unknown>, data: Record<string, unknown> = {}) {
  const r = runCli(['train', writeConfig(dir, { model, data: { train: 'train.jsonl', ...data }, training: TRAINING })]);
  assert.equal(r.code, 2);
  assert.equal(fs.existsSync(path.join(dir, 'out')), false);
  return r.stderr;
}

test('a text column that is missing is named with the line', () => {
  const dir = tempDir('nocol');
  texts(dir, 6);
  assert.match(rejected(dir, { ...BERT, tokenizer: 'train' }, { text_columns: ['review'] }), /train\.jsonl:1: no text column "review" \(columns here: text, label\)/);
});

test('a tokenizer file that is missing names model.tokenizer', () => {
  const dir = tempDir('notok');
  texts(dir, 6);
  assert.match(rejected(dir, { ...BERT, tokenizer: 'nope/tokenizer.json' }), /trainer\.yaml:\d+: model\.tokenizer: tokenizer file not found: .*nope[/\\]tokenizer\.json/);
});

test('a tokenizer file that is not valid JSON names the file and the line', () => {
  const dir = tempDir('badtok');
  texts(dir, 6);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{\n  "model": {\n    "type": "WordPiece",\n  oops\n}\n');
  assert.match(rejected(dir, { ...BERT, tokenizer: 'tokenizer.json' }), /tokenizer\.json:\d+: the tokenizer.* is not valid JSON/);
});

test('a built-in bert without a tokenizer is a config error', () => {
  const dir = tempDir('bert-no-tok');
  texts(dir, 6);
  assert.match(rejected(dir, { ...BERT }), /model\.builtin: bert needs model\.tokenizer/);
});
