// The train step remakes layer normalizations' outputs in the backward pass from their inputs,
// which their own gradient keeps anyway, instead of keeping both (programs/recompute.ts,
// normalizedRemakes), on every transformer family the exporters write with LayerNormalization,
// and trains as the step that keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, Node } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { FIXTURES } from '../helpers';
import { assertTrainedAlike, threeSteps, trainSteps } from './sameTraining';
import { jsonlBatch } from './parityBatch';

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;
const VIEWS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * Forward values of the compiled step that its backward nodes read and that are a
 * LayerNormalization's output or a view of one (GPT-2 flattens it before its Gemm).
 */
function keptNormalized(step: Graph, forwardNames: Set<string>): string[] {
  const producer = new Map<string, Node>();
  for (const n of step.nodes) if (forwardNames.has(n.name)) for (const o of n.outputs) producer.set(o, n);
  const normalized = (v: string): boolean => {
    const n = producer.get(v);
    return !!n && (n.op === 'LayerNormalization' || (VIEWS.has(n.op) && normalized(n.inputs[0])));
  };
  const kept = new Set<string>();
  for (const n of step.nodes) if (!forwardNames.has(n.name)) for (const i of n.inputs) if (normalized(i)) kept.add(i);
  return [...kept];
}

for (const name of ['bert', 'distilbert', 'roberta', 'vit', 'gpt2'].flatMap((f) => [`${f}_ts`, `${f}_dynamo`])) {
  test(`${name}: the backward pass keeps no layer normalization's output, it remakes them`, () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
    const forwardNames = new Set(prepared.graph.nodes.map((n) => n.name));
    const norms = prepared.graph.nodes.filter((n) => n.op === 'LayerNormalization').length;
    // Every row computed, so that every forward node keeps the exporter's name (the row selection
    // adds forward nodes of its own, selectedRows.test.ts).
    const whole = { selectedRowsOnly: false };
    const keeping = compileTrainStep(prepared, LOSS, 'step', { ...whole, recomputeNormalized: false });
    const remaking = compileTrainStep(prepared, LOSS, 'step', whole);
    const before = keptNormalized(keeping.graph, forwardNames);
    // Two layers in each fixture, two normalizations a layer (and one before or after them).
    assert.ok(norms >= 4 && before.length >= 4, `${before.length} of ${norms} normalized values kept without the rewrite`);
    assert.deepEqual(keptNormalized(remaking.graph, forwardNames), []);
    const remade = remaking.graph.nodes.filter((n) => n.op === 'LayerNormalization' && !forwardNames.has(n.name)).length;
    assert.ok(remade >= before.length && remade <= norms, `${remade} LayerNormalization clones for ${before.length} kept values`);
  });
}

test('bert: remaking the layer normalizations\' outputs trains identically to keeping them', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx')));
  assertTrainedAlike(await threeSteps('bert', prepared, LOSS, { recomputeNormalized: false }), await threeSteps('bert', prepared, LOSS, {}));
});

// GPT-2's are read through a view (Conv1D's flatten), ViT's by dynamo's Gemm-free products.
for (const name of ['gpt2_ts', 'vit_dynamo']) {
  test(`${name}: remaking the layer normalizations' outputs trains identically to keeping them`, async () => {
    const dir = path.join(FIXTURES, 'exports', name);
    const prepared = prepareModel(loadModel(path.join(dir, 'model.onnx')));
    const batch = jsonlBatch(path.join(dir, 'train.jsonl'), prepared);
    const settings = { optimizer: { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false }, lr: 1e-3, maxGradNorm: 1, randomKey: 5 } as const;
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { recomputeNormalized: false }, settings), await trainSteps(prepared, LOSS, batch, {}, settings));
  });
}
