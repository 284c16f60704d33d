// A model that came in transformers.js's layout (onnx/model.onnx) is saved in that layout:
// every checkpoint, the final model and an export hold config.json and the tokenizer files at the
// root and onnx/model.onnx, with its weights inline under protobuf's 2 GiB or in
// onnx/model.onnx_data above it, which is what transformers.js loads. The root model.onnx +
// model.safetensors stay, for resume, evaluate, predict, try and Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { removeStaleTemporaryFolders } from '../../src/trainer/loop/checkpoints';
import { onnx } from '../../src/trainer/onnx/generated/onnx';
import { ExternalWriter, loadModel, modelToProto } from '../../src/trainer/onnx/model';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { toBytes } from '../../src/trainer/onnx/tensor';
import { exportModel } from '../../src/trainer/programs/export';
import { bertConfig, bertFiles, quantizedOnnx, textRecords } from '../hub/fixtureRepos';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

const TRAINING = { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 4, save_steps: 1, logging_steps: 1, report_to: 'none' };
const SEQ = 12;

/**
 * A project whose model folder is the fixture BERT repository in transformers.js's layout: the
 * ONNX file moved to onnx/model.onnx (its weights in onnx/model.onnx_data, as the Hub's large
 * models have them), a quantized variant beside it, config.json and tokenizer files at the root.
 */
function project(): { dir: string; folder: string; config: string } {
  const dir = tempDir('tjs');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), textRecords(12).join('\n') + '\n');
  const folder = path.join(dir, 'exported');
  fs.mkdirSync(path.join(folder, 'onnx'), { recursive: true });
  for (const [name, content] of Object.entries(bertFiles())) if (!name.endsWith('.onnx')) fs.writeFileSync(path.join(folder, name), content);
  const model = loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx'));
  const writer = new ExternalWriter('model.onnx_data', 0);
  fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), onnx.ModelProto.encode(modelToProto(model.graph, model.proto, writer.place)).finish());
  writer.writeTo(path.join(folder, 'onnx', 'model.onnx_data'));
  fs.writeFileSync(path.join(folder, 'onnx', 'model_quantized.onnx'), quantizedOnnx());
  const config = writeConfig(dir, { model: { path: 'exported' }, data: { train: 'train.jsonl', test: 'train.jsonl', max_length: SEQ }, training: TRAINING });
  return { dir, folder, config };
}

/** The logits of one fixed sentence, from a session made from a model file's path. */
async function logitsOf(file: string): Promise<number[]> {
  const session = await ort.InferenceSession.create(file);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const value = (i: number) => (name === 'input_ids' ? BigInt(2 + i) : name === 'attention_mask' ? 1n : 0n);
    feeds[name] = new ort.Tensor('int64', BigInt64Array.from({ length: SEQ }, (_, i) => value(i)), [1, SEQ]);
  }
  const logits = [...((await session.run(feeds)).logits.data as Float32Array)];
  await session.release();
  return logits;
}

/** Checks a saved folder's transformers.js layout, weights inline; returns onnx/model.onnx's logits. */
async function assertInlineLayout(saved: string): Promise<number[]> {
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) assert.ok(fs.existsSync(path.join(saved, f)), `${saved}: ${f}`);
  assert.deepEqual(fs.readdirSync(path.join(saved, 'onnx')), ['model.onnx'], 'onnx/ holds the float32 model alone, its weights inline');
  const config = readJson(path.join(saved, 'config.json'));
  assert.deepEqual(config['transformers.js_config'], { dtype: 'fp32' }, 'transformers.js picks model.onnx and fetches no external data');
  assert.deepEqual(config.id2label, { 0: 'negative', 1: 'positive' });
  // The weights inside onnx/model.onnx are the trained ones, byte for byte.
  const initializers = onnx.ModelProto.decode(fs.readFileSync(path.join(saved, 'onnx', 'model.onnx'))).graph!.initializer!;
  const trained = readSafetensors(path.join(saved, 'model.safetensors')).tensors;
  assert.ok(trained.size > 0);
  for (const [name, t] of trained) {
    const stored = initializers.find((i) => i.name === name);
    assert.ok(stored && stored.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL, `${name} is inline`);
    assert.ok(Buffer.from(stored.rawData!).equals(Buffer.from(toBytes(t.data))), `${name} holds the trained values`);
  }
  const logits = await logitsOf(path.join(saved, 'onnx', 'model.onnx'));
  assert.deepEqual(logits, await logitsOf(path.join(saved, 'model.onnx')), 'onnx/model.onnx computes what the root model.onnx computes');
  return logits;
}

test('a transformers.js folder trains, and every checkpoint and the final model keep onnx/model.onnx with the trained weights inline', async () => {
  const { dir, folder, config } = project();
  const r = runCli(['train', config]);
  assert.equal(r.code, 0, r.stderr);
  const out = path.join(dir, 'out');
  const untrained = await logitsOf(path.join(folder, 'onnx', 'model.onnx'));
  for (const saved of [path.join(out, 'checkpoint-1'), path.join(out, 'checkpoint-2'), out]) {
    assert.notDeepEqual(await assertInlineLayout(saved), untrained, `${saved} holds trained weights`);
  }
  assert.deepEqual(await logitsOf(path.join(out, 'onnx', 'model.onnx')), await logitsOf(path.join(out, 'checkpoint-2', 'onnx', 'model.onnx')));
});

test('training resumed from a transformers.js-layout checkpoint ends with the uninterrupted run\'s model, in that layout', async () => {
  const { dir, config } = project();
  assert.equal(runCli(['train', config]).code, 0);
  const out = path.join(dir, 'out');
  const uninterrupted = fs.readFileSync(path.join(out, 'onnx', 'model.onnx'));
  const first = fs.statSync(path.join(out, 'checkpoint-1', 'onnx', 'model.onnx')).ino;
  const r = runCli(['train', config, '--resume', path.join(out, 'checkpoint-1')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.statSync(path.join(out, 'checkpoint-1', 'onnx', 'model.onnx')).ino, first, 'step 1 came from the checkpoint, not trained and saved again');
  await assertInlineLayout(out);
  assert.ok(fs.readFileSync(path.join(out, 'onnx', 'model.onnx')).equals(uninterrupted), 'the resumed run writes the same onnx/model.onnx');
});

test('predict and export read a transformers.js-layout checkpoint, and the export keeps the layout', async () => {
  const { dir, config } = project();
  assert.equal(runCli(['train', config]).code, 0);
  const checkpoint = path.join(dir, 'out', 'checkpoint-1');
  const predicted = runCli(['predict', config, '--checkpoint', checkpoint, '--output', path.join(dir, 'predictions.jsonl')]);
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.equal(fs.readFileSync(path.join(dir, 'predictions.jsonl'), 'utf8').trim().split('\n').length, 12);
  const exported = runCli(['export', config, '--checkpoint', checkpoint, '--output', path.join(dir, 'export')]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(await assertInlineLayout(path.join(dir, 'export')), await logitsOf(path.join(checkpoint, 'onnx', 'model.onnx')));
});

test('a model fine-tuned again from a folder Trainer saved in transformers.js\'s layout keeps that layout', async () => {
  const { dir, config } = project();
  assert.equal(runCli(['train', config]).code, 0);
  const again = writeConfig(dir, { model: { path: 'out' }, data: { train: 'train.jsonl', max_length: SEQ }, training: { ...TRAINING, output_dir: 'again', save_steps: 2 } }, 'again.yaml');
  const r = runCli(['train', again]);
  assert.equal(r.code, 0, r.stderr);
  await assertInlineLayout(path.join(dir, 'again'));
});

test('above the inline limit onnx/model.onnx keeps its weights in onnx/model.onnx_data, a second name of model.safetensors, as config.json says', async () => {
  const dir = tempDir('tjs-external');
  const source = path.join(dir, 'source');
  fs.mkdirSync(path.join(source, 'onnx'), { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'bert', 'model.onnx'), path.join(source, 'onnx', 'model.onnx'));
  const model = loadModel(path.join(source, 'onnx', 'model.onnx'));
  // Trained weights: the fixture's, halved, so that the saved values are not the source's.
  const trained = new Map([...model.graph.initializers].filter(([n, t]) => t.type === onnx.TensorProto.DataType.FLOAT && /weight/.test(n))
    .map(([n, t]) => [n, { ...t, data: (t.data as Float32Array).map((v) => v / 2) }]));
  const base = { ...JSON.parse(bertConfig().toString()), 'transformers.js_config': { dtype: 'q8', use_external_data_format: true, device_config: { webgpu: { dtype: 'fp16', use_external_data_format: true } }, free_dimension_overrides: { batch_size: 1 } } };
  const card = { num_labels: 2, problem_type: 'single_label_classification', labels: ['negative', 'positive'], base };
  const saved = path.join(dir, 'saved');
  fs.mkdirSync(saved);
  exportModel(model, trained, saved, card, { inlineLimit: 1 });

  // transformers.js fetches onnx/model.onnx_data when use_external_data_format names model.onnx.
  assert.deepEqual(readJson(path.join(saved, 'config.json'))['transformers.js_config'], { dtype: 'fp32', use_external_data_format: { 'model.onnx': true }, device_config: { webgpu: {} }, free_dimension_overrides: { batch_size: 1 } });
  const data = path.join(saved, 'onnx', 'model.onnx_data');
  assert.equal(fs.statSync(data).ino, fs.statSync(path.join(saved, 'model.safetensors')).ino, 'the weights are stored once');
  const initializers = onnx.ModelProto.decode(fs.readFileSync(path.join(saved, 'onnx', 'model.onnx'))).graph!.initializer!;
  for (const name of trained.keys()) {
    const location = initializers.find((i) => i.name === name)!.externalData!.find((e) => e.key === 'location')!.value;
    assert.equal(location, 'model.onnx_data', name);
  }
  // onnxruntime-node finds the data beside the file; a browser gets the bytes named "model.onnx_data".
  const root = await logitsOf(path.join(saved, 'model.onnx'));
  assert.deepEqual(await logitsOf(path.join(saved, 'onnx', 'model.onnx')), root);
  assert.notDeepEqual(root, await logitsOf(path.join(source, 'onnx', 'model.onnx')));
  const inBrowser = await ort.InferenceSession.create(fs.readFileSync(path.join(saved, 'onnx', 'model.onnx')), { externalData: [{ path: 'model.onnx_data', data: fs.readFileSync(data) }] } as ort.InferenceSession.SessionOptions);
  assert.deepEqual(inBrowser.outputNames, ['logits']);
  await inBrowser.release();

  // Saved again under the limit, the folder keeps no stale weights file and no external-data flag.
  exportModel(model, trained, saved, card);
  assert.deepEqual(fs.readdirSync(path.join(saved, 'onnx')), ['model.onnx']);
  assert.deepEqual(readJson(path.join(saved, 'config.json'))['transformers.js_config'], { dtype: 'fp32', device_config: { webgpu: {} }, free_dimension_overrides: { batch_size: 1 } });
  assert.deepEqual(await logitsOf(path.join(saved, 'onnx', 'model.onnx')), root);
});

test('temporary files a killed process left in the final model\'s onnx/ folder are removed, those of live processes kept', () => {
  const out = tempDir('tjs-stale');
  fs.mkdirSync(path.join(out, 'onnx'));
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  for (const name of [`.model.onnx.tmp-${dead}`, `.model.onnx.tmp-${process.pid}`]) fs.writeFileSync(path.join(out, 'onnx', name), 'partial');
  removeStaleTemporaryFolders(out);
  assert.deepEqual(fs.readdirSync(path.join(out, 'onnx')), [`.model.onnx.tmp-${process.pid}`]);
});
