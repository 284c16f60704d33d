// The train step remakes tiled and expanded copies of smaller values in the backward pass instead
// of keeping them (programs/recompute.ts, expansionRemakes): DeBERTa's relative-position tables
// tiled over the batch, grouped-query attention's keys and values repeated over the heads. And the
// backward pass reads the shape of a product of DeBERTa's q or k with a position table from the
// operands (GraphBuilder.shapeOf), not from the product, which it then need not keep. Training is
// the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, Node } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { exportDir } from '../helpers';
import { ADAMW_STEPS, assertTrainedAlike, trainSteps } from './sameTraining';
import { jsonlBatch } from './parityBatch';

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;
const prepare = (name: string) => prepareModel(loadModel(path.join(exportDir(name), 'model.onnx')));
// Every row computed, so that the forward nodes keep the exporter's names.
const WHOLE = { selectedRowsOnly: false } as const;

const MOVES = new Set(['Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/** Forward values of the step that its backward nodes read and that a Tile or Expand made (then transposed or viewed, possibly). */
function keptExpanded(step: Graph, forwardNames: Set<string>): string[] {
  const producer = new Map<string, Node>();
  for (const n of step.nodes) if (forwardNames.has(n.name)) for (const o of n.outputs) producer.set(o, n);
  const expanded = (v: string, depth = 0): boolean => {
    const n = producer.get(v);
    return !!n && depth < 4 && (n.op === 'Tile' || n.op === 'Expand' || (MOVES.has(n.op) && expanded(n.inputs[0], depth + 1)));
  };
  const kept = new Set<string>();
  for (const n of step.nodes) if (!forwardNames.has(n.name)) for (const i of n.inputs) if (i && expanded(i)) kept.add(i);
  return [...kept];
}

// DeBERTa-v2 (TorchScript: the tables tiled by Tile; dynamo: by Expand), Qwen2's and Llama's
// grouped-query attention (k and v expanded over the heads of a group).
for (const name of ['deberta_v2_ts', 'deberta_v2_dynamo', 'qwen2_dynamo', 'llama_ts']) {
  test(`${name}: the backward pass keeps no tiled or expanded copy but what remade ones are made from, and trains as keeping them does`, async () => {
    const prepared = prepare(name);
    const forwardNames = new Set(prepared.graph.nodes.map((n) => n.name));
    const keeping = keptExpanded(compileTrainStep(prepared, LOSS, 'step', { ...WHOLE, recomputeExpanded: false }).graph, forwardNames);
    assert.ok(keeping.length > 0, 'the backward pass reads expanded copies when they are kept');
    // What stays is only what the remade copies are made from (DeBERTa's TorchScript export expands
    // each table to its own shape before tiling it over the batch).
    const step = compileTrainStep(prepared, LOSS, 'step', WHOLE).graph;
    const sources = new Set(step.nodes.filter((n) => !forwardNames.has(n.name) && (n.op === 'Tile' || n.op === 'Expand')).map((n) => n.inputs[0]));
    const remaining = keptExpanded(step, forwardNames);
    assert.deepEqual(remaining.filter((v) => !sources.has(v)), []);
    assert.ok(remaining.length < keeping.length, `${remaining.length} expanded values kept against ${keeping.length}`);
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { recomputeExpanded: false }, ADAMW_STEPS), await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS));
  });
}

for (const name of ['deberta_v2_ts', 'deberta_v2_dynamo']) {
  test(`${name}: no backward Shape reads a product of q or k with a position table`, () => {
    const prepared = prepare(name);
    const forwardNames = new Set(prepared.graph.nodes.map((n) => n.name));
    const step = compileTrainStep(prepared, LOSS, 'step', WHOLE).graph;
    const products = new Set(step.nodes.filter((n) => forwardNames.has(n.name) && n.op === 'MatMul').flatMap((n) => n.outputs));
    const shapeReads = step.nodes.filter((n) => !forwardNames.has(n.name) && n.op === 'Shape' && products.has(n.inputs[0]));
    assert.deepEqual(shapeReads.map((n) => n.inputs[0]), []);
  });
}
