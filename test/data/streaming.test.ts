// Data larger than memory: JSONL and CSV files are indexed by byte offsets and read record by
// record, in any order; training on a streamed file gives exactly the run of the loaded one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDataset } from '../../src/trainer/data/dataset';
import { DataRecord } from '../../src/trainer/data/readers';
import { IndexedFileSource, MemorySource, RecordSource, openSource } from '../../src/trainer/data/source';
import { DataType } from '../../src/trainer/onnx/tensor';
import { readJson, runCli, tempDir, writeConfig } from '../helpers';

function features(dir: string) {
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ features: [Math.sin(i), Math.cos(i), i / 30], labels: i % 3 }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n\n');
}

function texts(dir: string) {
  const rows = ['text,label'];
  for (let i = 0; i < 30; i++) {
    const words = ['good', 'bad', 'film', 'plot', 'was', 'very'];
    // Quoted fields with commas and a newline inside: records are not lines.
    const text = i % 5 === 0 ? `"${words[i % 2]}, ${words[2 + (i % 2)]}\nand ${words[4]}"` : `${words[i % 2]} ${words[2 + (i % 4)] ?? 'film'}`;
    rows.push(`${text},${i % 2}`);
  }
  fs.writeFileSync(path.join(dir, 'train.csv'), rows.join('\n') + '\n');
}

function train(dir: string, out: string, data: Record<string, unknown>, model: Record<string, unknown>) {
  const r = runCli(['train', writeConfig(dir, {
    model, data,
    training: { output_dir: out, num_train_epochs: 2, per_device_train_batch_size: 4, logging_steps: 1, save_strategy: 'no', seed: 3 },
  }, `${out}.yaml`)]);
  assert.equal(r.code, 0, r.stderr);
  return (readJson(path.join(dir, out, 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e);
}

test('training on a streamed JSONL file equals training on the loaded file, bit for bit', () => {
  const dir = tempDir('stream-jsonl');
  features(dir);
  const model = { builtin: 'mlp', hidden_sizes: [8], num_labels: 3 };
  const loaded = train(dir, 'loaded', { train: 'train.jsonl', streaming: false }, model);
  const streamed = train(dir, 'streamed', { train: 'train.jsonl', streaming: true }, model);
  assert.deepEqual(streamed, loaded);
});

test('streamed CSV text with quoted commas and newlines tokenizes like the loaded file', () => {
  const dir = tempDir('stream-csv');
  texts(dir);
  const model = { builtin: 'bert', tokenizer: 'train', vocab_size: 60, num_hidden_layers: 1, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 2 };
  const loaded = train(dir, 'loaded', { train: 'train.csv', streaming: false }, model);
  const streamed = train(dir, 'streamed', { train: 'train.csv', streaming: true }, model);
  assert.deepEqual(streamed, loaded);
});

test('an indexed CSV reads any record by its offset, with its line number', async () => {
  const dir = tempDir('index-csv');
  texts(dir);
  const file = path.join(dir, 'train.csv');
  const indexed = IndexedFileSource.open(file);
  const loaded = await openSource(file, false);
  assert.equal(indexed.count, 30);
  assert.equal(loaded.count, 30);
  for (const i of [29, 0, 5, 17, 10]) assert.deepEqual(indexed.read(i), loaded.read(i));
  assert.equal(indexed.read(0).values.text, 'good, film\nand was');
  assert.equal(indexed.read(1).line, 4);
});

test('a streaming data set keeps no examples: each access reads its record again', () => {
  const records: DataRecord[] = Array.from({ length: 5 }, (_, i) => ({ line: i + 1, values: { features: [i, i], labels: i % 2 } }));
  let reads = 0;
  const inner = new MemorySource('x.jsonl', records);
  const counting: RecordSource = { file: 'x.jsonl', count: 5, streaming: true, scan: () => inner.scan(), read: (i) => (reads++, inner.read(i)) };
  const data = buildDataset(counting, [{ name: 'features', type: DataType.FLOAT, shape: ['batch', 2] }], { problemType: 'single_label_classification', numLabels: 2 }, true);
  assert.equal(reads, 0, 'validation scans, it does not index-read');
  data.example(3);
  data.example(3);
  assert.equal(reads, 2);
  assert.deepEqual(Array.from(data.classIds!), [0, 1, 0, 1, 0]);
});
