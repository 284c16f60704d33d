// Training a model from the Hub: the downloaded model trains on text with the repository's
// tokenizer, saved models keep the repository's config and tokenizer files, transformers.js
// repositories give their float32 onnx/model.onnx, and a quantized variant is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readJson, tempDir, writeConfig } from '../helpers';
import { HubServer, runCliAsync, startHub } from './hubServer';
import { bertFiles, quantizedOnnx, singleCommit, textRecords } from './fixtureRepos';

const TRAINING = { output_dir: 'out', max_steps: 3, per_device_train_batch_size: 4, save_steps: 3, logging_steps: 1, report_to: 'none' };
const REPO = bertFiles();

let hub: HubServer;
before(async () => {
  hub = await startHub({
    'acme/tiny-bert': singleCommit(REPO),
    'acme/tiny-bert-js': singleCommit({
      ...bertFiles('onnx/'),
      'onnx/model_quantized.onnx': quantizedOnnx(),
      'onnx/model_fp16.onnx': Buffer.from('not read'),
    }),
  });
});
after(() => hub.close());

function project(model: Record<string, unknown>) {
  const dir = tempDir('hub-train');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), textRecords(12).join('\n') + '\n');
  const config = writeConfig(dir, { model, data: { train: 'train.jsonl', max_length: 12 }, training: TRAINING });
  return { dir, config, env: { HF_HOME: path.join(dir, 'hf-home'), HF_ENDPOINT: hub.endpoint } };
}

test('a model from the Hub trains on text with the repository\'s tokenizer and labels', async () => {
  const p = project({ path: 'hf://acme/tiny-bert' });
  const r = await runCliAsync(['train', p.config], p.env);
  assert.equal(r.code, 0, r.stderr);
  const saved = readJson(path.join(p.dir, 'out', 'config.json'));
  assert.deepEqual(saved.id2label, { 0: 'negative', 1: 'positive' });
  const session = await ort.InferenceSession.create(path.join(p.dir, 'out', 'model.onnx'));
  assert.ok(session.outputNames.length > 0);
});

test('every saved model keeps the folder\'s config.json keys and its tokenizer files', async () => {
  const p = project({ hub: 'acme/tiny-bert', revision: 'main' });
  const r = await runCliAsync(['train', p.config], p.env);
  assert.equal(r.code, 0, r.stderr);
  for (const where of ['out', 'out/checkpoint-3']) {
    const config = readJson(path.join(p.dir, where, 'config.json'));
    assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
    assert.equal(config.model_type, 'bert');
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
      assert.ok(fs.existsSync(path.join(p.dir, where, f)), `${where}/${f}`);
    }
    assert.deepEqual(readJson(path.join(p.dir, where, 'special_tokens_map.json')), JSON.parse(REPO['special_tokens_map.json'].toString()));
  }
});

test('a transformers.js repository gives its float32 onnx/model.onnx, and no variant is downloaded', async () => {
  const home = tempDir('hf-js');
  const r = await runCliAsync(['check', 'hf://acme/tiny-bert-js'], { HF_HOME: home, HF_ENDPOINT: hub.endpoint });
  assert.equal(r.code, 0, r.stderr);
  const fetched = hub.requests.filter((q) => q.startsWith('GET /acme/tiny-bert-js/resolve/'));
  assert.ok(fetched.some((q) => q.includes('/onnx/model.onnx')));
  assert.equal(fetched.some((q) => /model_(quantized|fp16)/.test(q)), false);
});

test('a config naming a quantized variant is refused, naming the float32 file to use', async () => {
  const p = project({ path: 'hf://acme/tiny-bert-js/onnx/model_quantized.onnx' });
  const r = await runCliAsync(['train', p.config], p.env);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /trainer\.yaml:\d+: model\.path: .*model_quantized\.onnx holds quantized weights \(uint8 initializer "classifier\.weight_quantized" read by DequantizeLinear\).*use the float32 model: hf:\/\/acme\/tiny-bert-js\/onnx\/model\.onnx/);
  assert.equal(fs.existsSync(path.join(p.dir, 'out')), false);
});
