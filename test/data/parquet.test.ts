// Parquet data files: read row group by row group (loaded) or through a JSONL copy (streamed),
// they train exactly like the same rows in JSONL; errors name the file and the row.
// The files are written with hyparquet-writer in the layout pyarrow uses for Hugging Face
// datasets: 3-level LIST columns, INT64 labels, UTF8 strings, several row groups, compressed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readAllRecords } from '../../src/trainer/data/readers';
import { openSource } from '../../src/trainer/data/source';
import { readJson, runCli, tempDir, writeConfig } from '../helpers';

type Codec = 'SNAPPY' | 'GZIP' | 'BROTLI';
type Column = { name: string; data: unknown[]; element?: 'DOUBLE' | 'INT64'; type?: 'INT64' | 'STRING' };

async function writeParquet(file: string, columns: Column[], opts: { rowGroupSize?: number; codec?: Codec } = {}) {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const schema: Record<string, unknown>[] = [{ name: 'schema', num_children: columns.length }];
  for (const c of columns) {
    if (c.element) {
      schema.push({ name: c.name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' });
      schema.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      schema.push({ name: 'element', type: c.element, repetition_type: 'OPTIONAL' });
    } else if (c.type === 'STRING') schema.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    else schema.push({ name: c.name, type: 'INT64', repetition_type: 'OPTIONAL' });
  }
  const big = (v: unknown): unknown => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : Array.isArray(v) ? v.map(big) : v);
  parquetWriteFile({
    filename: file,
    columnData: columns.map((c) => ({ name: c.name, data: c.type === 'INT64' || c.element === 'INT64' ? c.data.map(big) : c.data })) as never,
    schema: schema as never,
    rowGroupSize: opts.rowGroupSize ?? 7,
    codec: opts.codec ?? 'SNAPPY',
    compressors: { GZIP: (b: Uint8Array) => new Uint8Array(zlib.gzipSync(b)), BROTLI: (b: Uint8Array) => new Uint8Array(zlib.brotliCompressSync(b)) },
  });
}

const rows = Array.from({ length: 30 }, (_, i) => ({ features: [Math.sin(i), Math.cos(i), i / 30], labels: i % 3 }));

async function featureFiles(dir: string, codec: Codec = 'SNAPPY') {
  fs.writeFileSync(path.join(dir, 'train.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await writeParquet(path.join(dir, 'train.parquet'), [
    { name: 'features', data: rows.map((r) => r.features), element: 'DOUBLE' },
    { name: 'labels', data: rows.map((r) => r.labels), type: 'INT64' },
  ], { codec });
}

function train(dir: string, out: string, data: Record<string, unknown>, model: Record<string, unknown>, env?: Record<string, string>) {
  const r = runCli(['train', writeConfig(dir, {
    model, data,
    training: { output_dir: out, num_train_epochs: 2, per_device_train_batch_size: 4, logging_steps: 1, save_strategy: 'no', seed: 3 },
  }, `${out}.yaml`)], { env });
  assert.equal(r.code, 0, r.stderr);
  return (readJson(path.join(dir, out, 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e);
}

for (const codec of ['SNAPPY', 'GZIP', 'BROTLI'] as const) {
  test(`Parquet rows (${codec}) read back as the JSONL records they were written from, numbered by row`, async () => {
    const dir = tempDir('parquet-read');
    await featureFiles(dir, codec);
    const records = await readAllRecords(path.join(dir, 'train.parquet'));
    assert.equal(records.length, 30, 'all five row groups');
    records.forEach((r, i) => {
      assert.equal(r.line, i + 1);
      assert.deepEqual(r.values, rows[i]);
    });
  });
}

test('training on a Parquet file, loaded or streamed, equals training on the same rows in JSONL, bit for bit', async () => {
  const dir = tempDir('parquet-train');
  await featureFiles(dir);
  const model = { builtin: 'mlp', hidden_sizes: [8], num_labels: 3 };
  const jsonl = train(dir, 'jsonl', { train: 'train.jsonl' }, model);
  const loaded = train(dir, 'loaded', { train: 'train.parquet', streaming: false }, model);
  // The streamed copy lives in the temporary folder and is gone when the trainer exits.
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  const streamed = train(dir, 'streamed', { train: 'train.parquet', streaming: true }, model, { TMPDIR: tmp });
  assert.equal(jsonl.length, 16);
  assert.deepEqual(loaded, jsonl);
  assert.deepEqual(streamed, jsonl);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('onnx-trainer-')), [], 'the JSONL copy was removed');
});

test('a streamed Parquet file reads any row, in any order, like the loaded one', async () => {
  const dir = tempDir('parquet-index');
  await featureFiles(dir);
  const file = path.join(dir, 'train.parquet');
  const streamed = await openSource(file, true);
  const loaded = await openSource(file, false);
  assert.ok(streamed.streaming && !loaded.streaming);
  assert.equal(streamed.file, file, 'records name the Parquet file, not its copy');
  for (const i of [29, 0, 13, 7, 21]) assert.deepEqual(streamed.read(i), loaded.read(i));
});

test('Parquet text and token-id columns train a BERT like the same JSONL', async () => {
  const dir = tempDir('parquet-text');
  const words = ['good', 'bad', 'film', 'plot', 'was', 'very', 'été'];
  const text = Array.from({ length: 24 }, (_, i) => `${words[i % 2]} ${words[2 + (i % 5)]} ${words[(i * 3) % 7]}`);
  const labels = text.map((_, i) => i % 2);
  fs.writeFileSync(path.join(dir, 'train.jsonl'), text.map((t, i) => JSON.stringify({ text: t, label: labels[i] })).join('\n') + '\n');
  await writeParquet(path.join(dir, 'train.parquet'), [{ name: 'text', data: text, type: 'STRING' }, { name: 'label', data: labels, type: 'INT64' }]);
  const model = { builtin: 'bert', tokenizer: 'train', vocab_size: 60, num_hidden_layers: 1, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 2 };
  assert.deepEqual(train(dir, 'parquet', { train: 'train.parquet' }, model), train(dir, 'jsonl', { train: 'train.jsonl' }, model));
});

test('Parquet data errors name the file and the row, with exit code 2', async () => {
  const dir = tempDir('parquet-errors');
  const features = rows.map((r) => r.features);
  features[11] = [1, 2];
  await writeParquet(path.join(dir, 'short.parquet'), [{ name: 'features', data: features, element: 'DOUBLE' }, { name: 'labels', data: rows.map((r) => r.labels), type: 'INT64' }]);
  await writeParquet(path.join(dir, 'huge.parquet'), [{ name: 'features', data: [[1, 2, 3]], element: 'DOUBLE' }, { name: 'labels', data: [2 ** 60], type: 'INT64' }]);
  fs.writeFileSync(path.join(dir, 'broken.parquet'), 'PAR1 this is not a parquet file');
  const run = (file: string) => runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', num_labels: 3 }, data: { train: file }, training: { output_dir: 'out', max_steps: 1 },
  }, `${file}.yaml`)]);
  const short = run('short.parquet');
  assert.equal(short.code, 2);
  assert.match(short.stderr, /short\.parquet:12: .*features/);
  const huge = run('huge.parquet');
  assert.equal(huge.code, 2);
  assert.match(huge.stderr, /huge\.parquet:1: column "labels": the integer 1152921504606846976 is beyond 2\^53/);
  const broken = run('broken.parquet');
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /broken\.parquet: not a readable Parquet file/);
  assert.ok(!fs.existsSync(path.join(dir, 'out')), 'nothing was written');
});
