// A classifier that reads token 0 of its last hidden states computes its last layer for token 0
// only, apart from the keys and values every token's row feeds (programs/selectedRows.ts), on
// every family the exporters write, and trains and predicts exactly as the whole computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/trainer/onnx/model';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { Graph } from '../../src/trainer/onnx/graph';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { computeSelectedRowsOnly } from '../../src/trainer/programs/selectedRows';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { FIXTURES, exportDir } from '../helpers';
import { assertEvalAlike, assertTrainedAlike, threeSteps, trainSteps } from './sameTraining';
import { jsonlBatch } from './parityBatch';

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;
const prepare = (name: string) => prepareModel(loadModel(path.join(exportDir(name), 'model.onnx')));

/** Products whose output has size 1 on the selected (sequence) axis: the rows still computed of the last layer. */
function oneRowProducts(graph: Graph): number {
  const shapes = new ShapeTable(graph).inferAll();
  return graph.nodes.filter((n) => {
    const s = shapes.get(n.outputs[0])?.shape;
    return n.op === 'MatMul' && !!s && s[s.length - 2] === 1;
  }).length;
}

/** The pooled families: every head reads hidden[:, 0]. */
const POOLED = ['bert', 'distilbert', 'roberta', 'vit'].flatMap((f) => [`${f}_ts`, `${f}_dynamo`]).concat('bert_cls_lora_ts', 'albert_ts', 'deit_dynamo');

for (const name of POOLED) {
  test(`${name}: the last layer's query, attention, output projection and feed-forward products compute token 0 only`, () => {
    const prepared = prepare(name);
    const graph = prepared.graph.clone();
    assert.equal(oneRowProducts(graph), 0);
    const moves = computeSelectedRowsOnly(graph, new Set([...prepared.outputs, prepared.logits]));
    assert.ok(moves >= 20, `${moves} operators moved`);
    // Q, Q·Kᵀ, P·V, the output projection and both feed-forward products: six.
    assert.equal(oneRowProducts(graph), 6);
  });
}

test('bert_ts: where the selection stops (the previous layer\'s output, read whole by the keys and values), it is a Slice, whose gradient is a Pad', () => {
  const prepared = prepare('bert_ts');
  const graph = prepared.graph.clone();
  computeSelectedRowsOnly(graph, new Set([...prepared.outputs, prepared.logits]));
  const made = graph.nodes.filter((n) => n.name.includes('/select'));
  assert.deepEqual([...new Set(made.map((n) => n.op))], ['Slice']);
  // The whole computation scatters the embeddings' gradients and the head's token-0 gradient
  // back; with the selection, the embeddings' alone.
  const scatters = (selectedRowsOnly: boolean) => compileTrainStep(prepared, LOSS, 'step', { selectedRowsOnly, paddingRowsOnly: false }).graph.nodes.filter((n) => n.op.startsWith('Scatter')).length;
  assert.equal(scatters(true), scatters(false) - 1);
});

// DeBERTa-v2 computes its attention over [batch · heads, seq, head_dim]; the Reshape splitting the
// heads out again changes the dims before the sequence axis, which the Reshape rule does not
// follow: the selection stops at the attention's output, below the output projection.
for (const name of ['deberta_v2_ts', 'deberta_v2_dynamo']) {
  test(`${name}: the last layer's output projection and feed-forward products compute token 0 only`, () => {
    const prepared = prepare(name);
    const graph = prepared.graph.clone();
    computeSelectedRowsOnly(graph, new Set([...prepared.outputs, prepared.logits]));
    assert.equal(oneRowProducts(graph), 3);
  });
}

// Families whose loss reads every position (token classification, QA, masked and causal LM), and
// GPT-2 and Llama sequence classification (the last non-padding token, a computed index, which
// selectedTokens.ts moves).
for (const name of ['bert_tokcls_ts', 'bert_qa_dynamo', 'bert_mlm_ts', 'gpt2_clm_ts', 'gpt2_ts', 'llama_dynamo', 'resnet_ts']) {
  test(`${name}: nothing is selected, so nothing moves`, () => {
    const prepared = prepare(name);
    const graph = prepared.graph.clone();
    const before = graph.nodes.map((n) => n.name);
    assert.equal(computeSelectedRowsOnly(graph, new Set([...prepared.outputs, prepared.logits])), 0);
    assert.deepEqual(graph.nodes.map((n) => n.name), before);
  });
}

for (const name of POOLED) {
  test(`${name}: the selected last layer's attention probabilities and activations are remade in the backward pass as the others are`, () => {
    const prepared = prepare(name);
    // The operators cloned into the backward pass, but views: with the selection, the pooler's
    // Squeeze of the selected row is remade with the layer norm it views (recompute.ts).
    const remade = (selectedRowsOnly: boolean) => compileTrainStep(prepared, LOSS, 'step', { selectedRowsOnly }).graph.nodes
      .filter((n) => /_recompute(_\d+)?$/.test(n.name) && !['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].includes(n.op)).map((n) => n.op).sort();
    const whole = remade(false);
    assert.ok(whole.includes('MatMul'), whole.join(' ')); // the attention scores' product
    assert.deepEqual(remade(true), whole);
  });
}

test('bert_ts: a value also read whole (here: named as kept) is never replaced by its selected rows', () => {
  const prepared = prepare('bert_ts');
  const graph = prepared.graph.clone();
  const pooled = graph.nodes.find((n) => n.op === 'Gather' && n.name.includes('pooler'))!;
  assert.equal(computeSelectedRowsOnly(graph, new Set([...prepared.outputs, prepared.logits, pooled.inputs[0]])), 0);
});

test('bert: computing token 0 only trains identically to computing every token', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx')));
  assertTrainedAlike(await threeSteps('bert', prepared, LOSS, { selectedRowsOnly: false }), await threeSteps('bert', prepared, LOSS, {}));
});

for (const name of ['distilbert_dynamo', 'roberta_ts', 'vit_ts', 'deberta_v2_ts', 'albert_ts']) {
  test(`${name}: computing token 0 only trains identically to computing every token`, async () => {
    const prepared = prepare(name);
    const loss = { problemType: 'single_label_classification', numLabels: Number(prepared.graph.outputs[0].shape?.[1]) } as const;
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    const settings = { optimizer: { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false }, lr: 1e-3, maxGradNorm: 1, randomKey: 5 } as const;
    assertTrainedAlike(await trainSteps(prepared, loss, batch, { selectedRowsOnly: false }, settings), await trainSteps(prepared, loss, batch, {}, settings));
  });
}

test('distilbert_ts: the eval step computing token 0 only gives the same logits and loss', async () => {
  const prepared = prepare('distilbert_ts');
  await assertEvalAlike(prepared, LOSS, jsonlBatch(path.join(exportDir('distilbert_ts'), 'train.jsonl'), prepared));
});
