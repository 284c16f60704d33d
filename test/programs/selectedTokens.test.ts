// A decoder's sequence classifier reads the last non-padding token of each sequence, chosen at run
// time; its last layer after the attention then runs for those tokens only (programs/
// selectedTokens.ts), for both exporters' forms of the choice, and trains and predicts exactly as
// the whole computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/trainer/onnx/model';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { Graph } from '../../src/trainer/onnx/graph';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { computeSelectedTokensOnly } from '../../src/trainer/programs/selectedTokens';
import { exportDir } from '../helpers';
import { assertEvalAlike, assertTrainedAlike, trainSteps } from './sameTraining';
import { jsonlBatch } from './parityBatch';

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;
const prepare = (name: string) => prepareModel(loadModel(path.join(exportDir(name), 'model.onnx')));
const ADAMW = { optimizer: { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false }, lr: 1e-3, maxGradNorm: 1, randomKey: 5 } as const;

/**
 * Products computed for one row per sequence: a matrix whose leading axes are not batch and
 * sequence (three-dimensional, or merged as batch*seq), as every product of the exported graphs is.
 */
function perTokenProducts(graph: Graph): string[] {
  const shapes = new ShapeTable(graph).inferAll();
  return graph.nodes.filter((n) => {
    const s = shapes.get(n.outputs[0])?.shape;
    return (n.op === 'MatMul' || n.op === 'Gemm') && s?.length === 2 && !String(s[0]).includes('*') && s[0] !== 1;
  }).map((n) => n.name);
}

// GPT-2: the attention's output projection, both feed-forward products and the score; Llama: the
// output projection, the gate, up and down projections and the score.
const DECODERS = { gpt2_ts: 4, gpt2_dynamo: 4, llama_ts: 5, llama_dynamo: 5 };

for (const [name, products] of Object.entries(DECODERS)) {
  test(`${name}: the last layer's products after the attention, and the score, compute the read token of each sequence only`, () => {
    const prepared = prepare(name);
    const graph = prepared.graph.clone();
    assert.deepEqual(perTokenProducts(graph), []);
    const moves = computeSelectedTokensOnly(graph, new Set([...prepared.outputs, prepared.logits]));
    assert.ok(moves >= 20, `${moves} operators moved`);
    assert.equal(perTokenProducts(graph).length, products, perTokenProducts(graph).join(', '));
  });

  test(`${name}: computing the read tokens only trains identically to computing every token`, async () => {
    const prepared = prepare(name);
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    // Sequences of different lengths: each reads another position.
    const mask = batch.get('attention_mask')!;
    const [rows, length] = mask.dims;
    const lengths = new Set(Array.from({ length: rows }, (_, r) => Array.from({ length }, (_, k) => Number(mask.data[r * length + k])).reduce((a, v) => a + v, 0)));
    assert.ok(lengths.size > 1, 'the batch pads its sequences to different lengths');
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { selectedRowsOnly: false }, ADAMW), await trainSteps(prepared, LOSS, batch, {}, ADAMW));
  });
}

for (const name of ['gpt2_ts', 'llama_dynamo']) {
  test(`${name}: the eval step computing the read tokens only gives the same logits and loss`, async () => {
    const prepared = prepare(name);
    await assertEvalAlike(prepared, LOSS, jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared));
  });
}

// Families whose loss reads every position, and classifiers whose token is a constant (selectedRows.ts).
for (const name of ['gpt2_clm_ts', 'bert_tokcls_ts', 'bert_qa_dynamo', 'bert_ts', 'roberta_dynamo', 'resnet_ts']) {
  test(`${name}: no rows are chosen at run time, so nothing changes`, () => {
    const prepared = prepare(name);
    const graph = prepared.graph.clone();
    const before = graph.nodes.map((n) => n.name);
    assert.equal(computeSelectedTokensOnly(graph, new Set([...prepared.outputs, prepared.logits])), 0);
    assert.deepEqual(graph.nodes.map((n) => n.name), before);
  });
}

test('gpt2_ts: a value also read whole (here: named as kept) is never replaced by its selected rows', () => {
  const prepared = prepare('gpt2_ts');
  const graph = prepared.graph.clone();
  const head = graph.nodes.find((n) => n.op === 'Flatten' && n.inputs[0].includes('score'))!;
  assert.equal(computeSelectedTokensOnly(graph, new Set([...prepared.outputs, prepared.logits, head.inputs[0]])), 1, 'only the Flatten moves');
});
