// Which initializers train: PyTorch's parameters, found by how a tensor is written and used
// (programs/trainable.ts), Hugging Face's weight-decay groups (decay.ts), and copies PyTorch may
// have tied (fileLimits.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Node } from '../../src/trainer/onnx/graph';
import { loadModel, saveModel } from '../../src/trainer/onnx/model';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { decays } from '../../src/trainer/programs/decay';
import { findCopies } from '../../src/trainer/programs/fileLimits';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../helpers';

const EXPORTS = path.join(FIXTURES, 'exports');

function node(op: string, inputs: string[], outputs: string[], name = `${op}_${outputs[0]}`): Node {
  return { name, op, domain: '', inputs, outputs, attrs: new Map() };
}

/** features [batch, 4] → logits [batch, 2] through `nodes`, with the given initializers. */
function graphOf(inits: Record<string, { dims: number[]; values: number[] }>, nodes: Node[], output = 'logits'): Graph {
  const g = new Graph();
  g.opset = 17;
  g.inputs.push({ name: 'features', type: DataType.FLOAT, shape: ['batch', 4] });
  g.outputs.push({ name: output, type: DataType.FLOAT, shape: ['batch', 2] });
  for (const [name, t] of Object.entries(inits)) g.initializers.set(name, fromNumbers(DataType.FLOAT, t.dims, t.values));
  g.nodes = nodes;
  return g;
}

/** Seeded values in [-0.5, 0.5) from a linear congruential generator (not a sinusoid of the index). */
function random(n: number, seed: number): number[] {
  let s = seed * 2654435761 >>> 0;
  return Array.from({ length: n }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5);
}

test('values of Constant nodes are never parameters (TorchScript writes the attention scale that way)', () => {
  const prepared = prepareModel(loadModel(path.join(EXPORTS, 'bert_ts', 'model.onnx')));
  const constants = [...prepared.frozenReasons].filter(([, r]) => r === 'Constant node').map(([n]) => n);
  assert.ok(constants.some((n) => /attention\/self\/Constant_\d+_output_0$/.test(n)));
  assert.ok(!prepared.params.some((p) => constants.includes(p.name)));
});

test('a rotary frequency buffer folded into an initializer is frozen, and says why', () => {
  const prepared = prepareModel(loadModel(path.join(EXPORTS, 'llama_dynamo', 'model.onnx')));
  assert.equal(prepared.frozenReasons.get('expand_1'), 'frequency buffer');
  assert.ok(!prepared.params.some((p) => p.name === 'expand_1'));
});

test('a learned tensor that meets the data before any Sin stays a parameter', () => {
  const g = graphOf({ w: { dims: [4, 2], values: random(8, 1) } }, [node('MatMul', ['features', 'w'], ['h']), node('Sin', ['h'], ['logits'])]);
  const prepared = prepareModel({ path: 'sin.onnx', proto: {} as never, graph: g });
  assert.deepEqual(prepared.params.map((p) => p.name), ['w']);
});

test('a fixed sinusoidal position table and an additive mask are frozen; a learned table is not', () => {
  const rows = 16;
  const cols = 4;
  const table = Array.from({ length: rows * cols }, (_, i) => {
    const [p, j] = [Math.floor(i / cols), i % cols];
    const w = 1 / 10000 ** ((2 * Math.floor(j / 2)) / cols);
    return j % 2 ? Math.cos(p * w) : Math.sin(p * w);
  });
  const mask = Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0 : -1e9));
  const g = graphOf({
    sinusoid: { dims: [rows, cols], values: table },
    learned: { dims: [rows, cols], values: random(rows * cols, 2) },
    mask: { dims: [4, 4], values: mask },
    w: { dims: [4, 2], values: random(8, 3) },
  }, [
    node('ReduceMean', ['sinusoid'], ['s']), node('ReduceMean', ['learned'], ['l']), node('ReduceMean', ['mask'], ['m']),
    node('Add', ['features', 's'], ['a']), node('Add', ['a', 'l'], ['b']), node('Add', ['b', 'm'], ['c']),
    node('MatMul', ['c', 'w'], ['logits']),
  ]);
  const prepared = prepareModel({ path: 'tables.onnx', proto: {} as never, graph: g });
  assert.deepEqual(prepared.params.map((p) => p.name).sort(), ['learned', 'w'], JSON.stringify([...prepared.frozenReasons]));
  assert.equal(prepared.frozenReasons.get('sinusoid'), 'sinusoidal position table');
  assert.equal(prepared.frozenReasons.get('mask'), 'mask');
});

test('model.trainable globs match initializer names and the names of the nodes that read them', () => {
  const model = loadModel(path.join(EXPORTS, 'bert_ts', 'model.onnx'));
  const prepared = prepareModel(model, { trainable: ['*attention/self/query*'] });
  // The query weight is an anonymous folded initializer read by ".../attention/self/query/MatMul";
  // the bias keeps its PyTorch name.
  const names = prepared.params.map((p) => p.name);
  assert.equal(names.length, 4);
  assert.ok(names.includes('m.bert.encoder.layer.0.attention.self.query.bias'));
  assert.ok(names.some((n) => n.startsWith('onnx::MatMul')));
  assert.equal(prepared.frozenReasons.get('m.classifier.weight'), 'not matched by model.trainable');
});

test('weight decay follows Hugging Face: biases and norm weights by name, LayerNorm ops, rank for exporter names', () => {
  const ln: Node = node('LayerNormalization', ['x', 'm.transformer.ln_f.weight', 'm.transformer.ln_f.bias'], ['y']);
  const cases: [string, number, Node[], boolean][] = [
    ['m.bert.embeddings.LayerNorm.weight', 1, [], false],
    ['m.bert.encoder.layer.0.attention.output.dense.bias', 1, [], false],
    ['m.model.layers.0.input_layernorm.weight', 1, [], false],
    ['m.model.norm.weight', 1, [], false],
    ['m.model.layers.0.self_attn.q_norm.weight', 1, [], false],
    ['m.transformer.ln_f.weight', 1, [ln], false],
    ['m.lm_head.weight', 2, [], true],
    ['m.normalizer.weight', 1, [], true],
    ['m.resnet.embedder.embedder.normalization.weight', 1, [], true],
    ['onnx::MatMul_338', 2, [], true],
    ['val_59', 1, [], false],
  ];
  for (const [name, rank, readers, want] of cases) assert.equal(decays(name, rank, readers), want, name);
});

test('the fixtures\' weight-decay differences from a rank rule are Hugging Face\'s groups', () => {
  const fixture = path.join(EXPORTS, 'resnet_ts_train');
  const params = readJson(path.join(fixture, 'params.json')) as { hf_decay_but_rank_lt_2: string[] };
  const prepared = prepareModel(loadModel(path.join(fixture, 'model.onnx')));
  assert.ok(params.hf_decay_but_rank_lt_2.length > 0);
  for (const name of params.hf_decay_but_rank_lt_2) {
    assert.equal(prepared.params.find((p) => p.name === `m.${name}`)?.decay, true, name);
  }
});

test('bit-identical copies and transposed copies are found; look-alikes are not', () => {
  const w = random(8, 4);
  const transposed = [0, 2, 4, 6, 1, 3, 5, 7].map((i) => w[i]);
  const g = graphOf({
    w: { dims: [4, 2], values: w },
    same: { dims: [4, 2], values: w },
    t: { dims: [2, 4], values: transposed },
    near: { dims: [4, 2], values: w.map((v, i) => (i === 7 ? v + 1e-3 : v)) },
  }, []);
  assert.deepEqual(findCopies(g, ['w', 'same', 't', 'near']), [
    { copy: 'same', of: 'w', transposed: false },
    { copy: 't', of: 'w', transposed: true },
  ]);
});

/** An "LM head tied to the embedding" as an exporter writes it: W and a transposed copy. */
function tiedModel(dir: string, file: string, asCopy: boolean): void {
  const w = random(8, 5);
  const inits: Record<string, { dims: number[]; values: number[] }> = { w: { dims: [4, 2], values: w } };
  const nodes = [node('MatMul', ['features', 'w'], ['h']), node('Tanh', ['h'], ['a'])];
  if (asCopy) {
    inits.w_t = { dims: [2, 4], values: [0, 2, 4, 6, 1, 3, 5, 7].map((i) => w[i]) };
    nodes.push(node('MatMul', ['a', 'w_t'], ['z']));
  } else {
    const t = node('Transpose', ['w'], ['wt']);
    t.attrs.set('perm', { kind: 'ints', value: [1, 0] });
    nodes.push(t, node('MatMul', ['a', 'wt'], ['z']));
  }
  nodes.push(node('MatMul', ['z', 'w'], ['logits']));
  saveModel(path.join(dir, file), graphOf(inits, nodes));
}

test('tie_identical trains a transposed copy as one parameter, exactly as a truly tied model trains', () => {
  const dir = tempDir('tied');
  tiedModel(dir, 'copies.onnx', true);
  tiedModel(dir, 'tied.onnx', false);
  const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ features: random(4, 10 + i), labels: i % 2 }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), rows.join('\n') + '\n');
  const run = (model: string, out: string, extra: Record<string, unknown> = {}) => {
    const r = runCli(['train', writeConfig(dir, {
      model: { path: model, num_labels: 2, ...extra }, data: { train: 'train.jsonl' },
      training: { output_dir: out, max_steps: 5, per_device_train_batch_size: 8, learning_rate: 0.05, save_strategy: 'no', logging_steps: 1, report_to: 'none' },
    }, `${out}.yaml`)]);
    assert.equal(r.code, 0, r.stderr);
    return { stderr: r.stderr, losses: (readJson(path.join(dir, out, 'trainer_state.json')).log_history as { loss?: number }[]).filter((e) => e.loss !== undefined).map((e) => e.loss) };
  };
  const untied = run('copies.onnx', 'untied');
  assert.match(untied.stderr, /warning: 1 initializer\(s\) are exact copies .*"w_t" = the transpose of "w".*tie_identical/);
  const tied = run('copies.onnx', 'tied_copies', { tie_identical: true });
  const reference = run('tied.onnx', 'reference');
  assert.doesNotMatch(tied.stderr, /exact copies/);
  assert.deepEqual(tied.losses, reference.losses);
  assert.notDeepEqual(untied.losses, reference.losses);
  const weights = readSafetensors(path.join(dir, 'tied_copies', 'model.safetensors')).tensors;
  const [w, wt] = [weights.get('w')!, weights.get('w_t')!];
  for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) assert.equal(wt.data[c * 4 + r], w.data[r * 2 + c]);
});
