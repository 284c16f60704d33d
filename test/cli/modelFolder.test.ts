// Model folders as exporters write them: optimum's model.onnx with its weights in
// model.onnx_data, transformers.js's onnx/model.onnx (saved folders: transformersJsLayout.test.ts),
// config.json and tokenizer files that every saved model keeps, and quantized models recognized
// by their weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from '../../src/trainer/onnx/generated/onnx';
import { ExternalWriter, loadModel, modelToProto } from '../../src/trainer/onnx/model';
import { BERT_ONNX, bertFiles, quantizedOnnx, textRecords } from '../hub/fixtureRepos';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

const TRAINING = { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 4, save_steps: 2, logging_steps: 1, report_to: 'none' };

/** Writes the fixture BERT as `onnxFile` in `folder`, its weights in the external file `dataName` beside it. */
function writeWithExternalData(folder: string, onnxFile: string, dataName: string) {
  const model = loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx'));
  const writer = new ExternalWriter(dataName, 0);
  const bytes = onnx.ModelProto.encode(modelToProto(model.graph, model.proto, writer.place)).finish();
  const file = path.join(folder, onnxFile);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  writer.writeTo(path.join(path.dirname(file), dataName));
}

/** A project with text data and a model folder holding the fixture repository's config and tokenizer files. */
function project(): { dir: string; folder: string } {
  const dir = tempDir('folder');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), textRecords(12).join('\n') + '\n');
  const folder = path.join(dir, 'exported');
  fs.mkdirSync(folder);
  for (const [name, content] of Object.entries(bertFiles())) if (!name.endsWith('.onnx')) fs.writeFileSync(path.join(folder, name), content);
  return { dir, folder };
}

function train(dir: string, model: Record<string, unknown>) {
  return runCli(['train', writeConfig(dir, { model, data: { train: 'train.jsonl', max_length: 12 }, training: TRAINING })]);
}

test('an optimum folder with its weights in model.onnx_data trains, and the saved folder loads in onnxruntime', async () => {
  const { dir, folder } = project();
  writeWithExternalData(folder, 'model.onnx', 'model.onnx_data');
  const stored = onnx.ModelProto.decode(fs.readFileSync(path.join(folder, 'model.onnx'))).graph!.initializer ?? [];
  assert.ok(stored.length > 0 && stored.every((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL), 'the weights are outside model.onnx');
  const r = train(dir, { path: 'exported' });
  assert.equal(r.code, 0, r.stderr);
  const out = path.join(dir, 'out');
  assert.deepEqual(readJson(path.join(out, 'config.json')).architectures, ['BertForSequenceClassification']);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
  assert.deepEqual(session.outputNames, ['logits']);
  // optimum's layout stays as it was: no onnx/ folder, nothing for transformers.js in config.json.
  for (const saved of [out, path.join(out, 'checkpoint-2')]) {
    assert.equal(fs.existsSync(path.join(saved, 'onnx')), false, saved);
    assert.equal(readJson(path.join(saved, 'config.json'))['transformers.js_config'], undefined, saved);
  }
});

test('check on a model folder inspects the ONNX file a config would train', () => {
  const { folder } = project();
  writeWithExternalData(folder, 'onnx/model.onnx', 'model.onnx_data');
  const r = runCli(['check', folder]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^.*exported[/\\]onnx[/\\]model\.onnx \(ONNX opset \d+\)$/m);
});

test('a quantized model is recognized by its weights, whatever the file is called', () => {
  const { dir, folder } = project();
  fs.writeFileSync(path.join(folder, 'model.onnx'), quantizedOnnx());
  const r = train(dir, { path: 'exported' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /model\.path: .*exported[/\\]model\.onnx holds quantized weights \(uint8 initializer .* read by DequantizeLinear\).*export the float32 model/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a quantized variant named in file_name is refused, naming the float32 file beside it', () => {
  const { dir, folder } = project();
  fs.mkdirSync(path.join(folder, 'onnx'));
  fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), BERT_ONNX);
  fs.writeFileSync(path.join(folder, 'onnx', 'model_int8.onnx'), quantizedOnnx());
  const r = train(dir, { path: 'exported', file_name: 'onnx/model_int8.onnx' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /model\.file_name: .*model_int8\.onnx holds quantized weights .*use the float32 model: .*exported[/\\]onnx[/\\]model\.onnx$/m);
});

test('a folder without an ONNX model says where it looked', () => {
  const { dir } = project();
  const r = train(dir, { path: 'exported' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /model\.path: .*exported holds no ONNX model \(looked for model\.onnx and onnx\/model\.onnx\)/);
});

test('an .onnx file over 2 GB is refused with the way to export it (weights as external data)', () => {
  const { dir, folder } = project();
  // A sparse file: 2 GiB of size without the disk space.
  fs.closeSync(fs.openSync(path.join(folder, 'model.onnx'), 'w'));
  fs.truncateSync(path.join(folder, 'model.onnx'), 2 ** 31 + 1);
  const r = train(dir, { path: 'exported' });
  assert.equal(r.code, 2);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.match(r.stderr, /^error: .*exported[/\\]model\.onnx is over 2 GB, more than an ONNX \(protobuf\) file can hold; export it with its weights as external data/);
});
