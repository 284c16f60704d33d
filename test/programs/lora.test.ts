// LoRA adapter insertion (programs/lora.ts): which modules get adapters, how they start, and
// that merging them into the weights computes what the adapted graph computes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES, readJson } from '../helpers';
import { loadModel, modelToProto } from '../../src/trainer/onnx/model';
import { onnx } from '../../src/trainer/onnx/generated/onnx';
import { Model } from '../../src/trainer/onnx/model';
import { toInferenceForm } from '../../src/trainer/programs/lowering';
import { LoraConfig, findTargets, insertAdapters, matchesTarget, mergeAdapters } from '../../src/trainer/programs/lora';
import { readAdapterWeights } from '../../src/trainer/programs/peftFiles';
import { Tensor, fromNumbers, toNumbers } from '../../src/trainer/onnx/tensor';
import { buildBert } from '../../src/trainer/models/bert';

const TASKS = path.join(FIXTURES, 'tasks');

function config(targets: string[] | string, init?: string): LoraConfig {
  return { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: targets, use_rslora: false, init };
}

for (const [name, targets] of [['bert_cls_lora_ts', ['query', 'value']], ['llama_clm_lora_ts', ['q_proj', 'v_proj']]] as const) {
  test(`${name}: adapters go on exactly the TorchScript modules export.json lists`, () => {
    const model = loadModel(path.join(TASKS, name, 'model.onnx'));
    const expected = readJson(path.join(TASKS, name, 'export.json')).lora_targets as Record<string, { node: string; weight_initializer: string }>;
    const found = Object.fromEntries(findTargets(model.graph, [...targets]).map((s) => [s.module, { node: s.node.name, weight_initializer: s.weight }]));
    const want = Object.fromEntries(Object.entries(expected).map(([m, t]) => [m, { node: t.node, weight_initializer: t.weight_initializer }]));
    assert.deepEqual(found, want);
  });
}

test('dynamo exports name modules through their scope metadata', () => {
  const model = loadModel(path.join(TASKS, 'bert_qa_dynamo', 'model.onnx'));
  const sites = findTargets(model.graph, ['query', 'value']);
  assert.deepEqual(sites.map((s) => s.module).sort(), [
    'bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.0.attention.self.value',
    'bert.encoder.layer.1.attention.self.query', 'bert.encoder.layer.1.attention.self.value',
  ]);
  for (const s of sites) assert.deepEqual(model.graph.initializers.get(s.weight)!.dims, [32, 32]);
});

test('a regular expression must match the whole module path, as peft requires', () => {
  const model = loadModel(path.join(TASKS, 'bert_qa_dynamo', 'model.onnx'));
  assert.deepEqual(findTargets(model.graph, String.raw`.*layer\.1\..*\.(query|value)`).map((s) => s.module).sort(), [
    'bert.encoder.layer.1.attention.self.query', 'bert.encoder.layer.1.attention.self.value',
  ]);
  assert.equal(findTargets(model.graph, 'query').length, 0);
});

test('a name matches a whole last segment only', () => {
  assert.ok(matchesTarget('bert.encoder.layer.0.attention.self.query', ['query']));
  assert.ok(matchesTarget('query', ['query']));
  assert.ok(!matchesTarget('bert.encoder.layer.0.attention.self.my_query', ['query']));
});

test('an export wrapped in an extra scope still matches, and reads the init file by the module path', () => {
  const dir = path.join(TASKS, 'bert_cls_lora_ts');
  const model = loadModel(path.join(dir, 'model.onnx'));
  for (const n of model.graph.nodes) if (n.name.startsWith('/')) n.name = `/m${n.name}`;
  const init = readAdapterWeights(path.join(dir, 'adapter_model.safetensors'));
  const lora = insertAdapters(model, config(['query', 'value'], path.join(dir, 'adapter_model.safetensors')), 42, init);
  assert.deepEqual(lora.adapters.map((a) => a.module).sort(), Object.keys(readJson(path.join(dir, 'export.json')).lora_targets as object).sort());
});

test('without an init file, A is Kaiming-uniform (within ±1/√in) from the seed and B is zero', () => {
  const model = loadModel(path.join(TASKS, 'bert_cls_lora_ts', 'model.onnx'));
  const first = insertAdapters(model, config(['query']), 42);
  const again = insertAdapters(model, config(['query']), 42);
  const other = insertAdapters(model, config(['query']), 7);
  const a = (l: typeof first) => toNumbers(l.model.graph.initializers.get(l.adapters[0].a)!);
  const values = a(first);
  assert.equal(values.length, 4 * 32);
  assert.ok(values.every((v) => Math.abs(v) <= 1 / Math.sqrt(32)));
  assert.ok(Math.max(...values.map(Math.abs)) > 0.5 / Math.sqrt(32));
  assert.deepEqual(values, a(again));
  assert.notDeepEqual(values, a(other));
  assert.ok(toNumbers(first.model.graph.initializers.get(first.adapters[0].b)!).every((v) => v === 0));
});

test('the base model is left as it was', () => {
  const model = loadModel(path.join(TASKS, 'bert_cls_lora_ts', 'model.onnx'));
  const nodes = model.graph.nodes.length;
  const lora = insertAdapters(model, config(['query', 'value']), 42);
  assert.equal(model.graph.nodes.length, nodes);
  assert.ok(!model.graph.initializers.has(lora.adapters[0].a));
  assert.ok(lora.model.graph.nodes.length > nodes);
});

async function logits(model: Model, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const graph = model.graph.clone();
  toInferenceForm(graph);
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(modelToProto(graph, model.proto)).finish());
  const out = await session.run(feeds);
  return out[session.outputNames[0]].data as Float32Array;
}

test('merging the adapters into the weights computes what the adapted graph computes', async () => {
  const dir = path.join(TASKS, 'bert_cls_lora_ts');
  const base = loadModel(path.join(dir, 'model.onnx'));
  const init = readAdapterWeights(path.join(dir, 'adapter_model.safetensors'));
  const lora = insertAdapters(base, config(['query', 'value'], 'init'), 42, init);
  const merged = mergeAdapters(lora, lora.model.graph.initializers as Map<string, Tensor>);
  const mergedModel: Model = { ...base, graph: base.graph.clone() };
  for (const [name, t] of merged) mergedModel.graph.initializers.set(name, t);
  const ids = BigInt64Array.from({ length: 2 * 8 }, (_, i) => BigInt(5 + ((i * 37) % 90)));
  const feeds = {
    input_ids: new ort.Tensor('int64', ids, [2, 8]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(16).fill(1n), [2, 8]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(16), [2, 8]),
  };
  const adapted = await logits(lora.model, feeds);
  const fused = await logits(mergedModel, feeds);
  const plain = await logits(base, feeds);
  assert.ok(adapted.some((v, i) => Math.abs(v - plain[i]) > 1e-3), 'the init adapter changes the logits');
  adapted.forEach((v, i) => assert.ok(Math.abs(v - fused[i]) < 1e-5, `logit ${i}: adapted ${v}, merged ${fused[i]}`));
});

test('weights read through a Transpose are found by their state-dict names, and merge in their [out, in] layout', async () => {
  const graph = buildBert({ vocabSize: 100, padTokenId: 0, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 16, numLabels: 2, seed: 1, dropout: 0 });
  const base: Model = { path: 'bert', proto: { opsetImport: [{ domain: '', version: graph.opset }] } as unknown as onnx.ModelProto, graph };
  const lora = insertAdapters(base, config(['query', 'dense']), 42);
  assert.deepEqual(lora.adapters.map((a) => a.module).sort(), [
    'bert.encoder.layer.0.attention.output.dense', 'bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.0.intermediate.dense', 'bert.encoder.layer.0.output.dense',
    'bert.encoder.layer.1.attention.output.dense', 'bert.encoder.layer.1.attention.self.query', 'bert.encoder.layer.1.intermediate.dense', 'bert.encoder.layer.1.output.dense',
    'bert.pooler.dense',
  ]);
  // B starts at zero; give it values so that the adapters change the output.
  for (const a of lora.adapters) {
    const b = lora.model.graph.initializers.get(a.b)!;
    lora.model.graph.initializers.set(a.b, fromNumbers(b.type, b.dims, Array.from({ length: b.data.length }, (_, i) => Math.sin(i) * 0.3)));
  }
  const mergedModel: Model = { ...base, graph: base.graph.clone() };
  for (const [name, t] of mergeAdapters(lora, lora.model.graph.initializers as Map<string, Tensor>)) mergedModel.graph.initializers.set(name, t);
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: 12 }, (_, i) => BigInt(1 + ((i * 13) % 99))), [2, 6]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(12).fill(1n), [2, 6]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(12), [2, 6]),
  };
  const adapted = await logits(lora.model, feeds);
  const fused = await logits(mergedModel, feeds);
  const plain = await logits(base, feeds);
  assert.ok(adapted.some((v, i) => Math.abs(v - plain[i]) > 1e-4), 'the adapters change the logits');
  adapted.forEach((v, i) => assert.ok(Math.abs(v - fused[i]) < 1e-5, `logit ${i}: adapted ${v}, merged ${fused[i]}`));
});

test('use_rslora scales the adapters by lora_alpha / √r instead of lora_alpha / r', () => {
  const dir = path.join(TASKS, 'bert_cls_lora_ts');
  const base = loadModel(path.join(dir, 'model.onnx'));
  const init = readAdapterWeights(path.join(dir, 'adapter_model.safetensors'));
  const delta = (rslora: boolean) => {
    const lora = insertAdapters(base, { ...config(['query', 'value'], 'init'), use_rslora: rslora }, 42, init);
    const ad = lora.adapters[0];
    const merged = toNumbers(mergeAdapters(lora, lora.model.graph.initializers as Map<string, Tensor>).get(ad.weight)!);
    const w = toNumbers(base.graph.initializers.get(ad.weight)!);
    return merged.map((v, i) => v - w[i]);
  };
  const plain = delta(false);
  const rs = delta(true);
  const k = plain.findIndex((v) => Math.abs(v) > 1e-3);
  assert.ok(Math.abs(rs[k] / plain[k] - Math.sqrt(4)) < 1e-4, `ratio ${rs[k] / plain[k]}`);
});
