// Token-level losses read only the labelled positions (lossHeads.ts selectLabelledTokens, moved by
// selectedTokens.ts): the head and the last layer after its attention run for the positions whose
// label is not -100, and three AdamW steps give what computing every position gives, on the task
// fixtures Hugging Face's exporters wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { DataType, Tensor, fromNumbers } from '../../src/trainer/onnx/tensor';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import type { LossHeadOptions } from '../../src/trainer/programs/lossHeads';
import type { Task } from '../../src/trainer/programs/tasks';
import { exportDir } from '../helpers';
import { assertTrainedAlike, trainSteps } from './sameTraining';

const ADAMW = { optimizer: { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false }, lr: 1e-3, maxGradNorm: 1, randomKey: 5 } as const;

const CASES: [string, Task][] = [
  ['bert_mlm_ts', 'fill-mask'],
  ['bert_tokcls_ts', 'token-classification'],
  ['bert_tokcls_dynamo', 'token-classification'],
  ['gpt2_clm_ts', 'text-generation'],
  ['gpt2_clm_dynamo', 'text-generation'],
];

const lossOf = (task: Task): LossHeadOptions => ({ task, problemType: 'single_label_classification', numLabels: 5 });
const prepare = (name: string, task: Task) => prepareModel(loadModel(path.join(exportDir(name), 'model.onnx')), { task });

/** The fixture's train.jsonl as one batch, labels included (every field is a row of ids). */
function batchOf(name: string, edit?: (row: Record<string, number[]>) => void): Map<string, Tensor> {
  const rows = fs.readFileSync(path.join(exportDir(name), 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number[]>);
  rows.forEach((r) => edit?.(r));
  const batch = new Map<string, Tensor>();
  for (const k of Object.keys(rows[0])) batch.set(k, fromNumbers(DataType.INT64, [rows.length, rows[0][k].length], rows.flatMap((r) => r[k])));
  return batch;
}

/** Products (MatMul, Gemm) of the forward pass whose left operand has as many rows as some NonZero counts. */
function productsOnCountedRows(graph: Graph): number {
  const shapes = new ShapeTable(graph).inferAll();
  const counts = new Set(graph.nodes.filter((n) => n.op === 'NonZero').map((n) => shapes.get(n.outputs[0])?.shape?.[1]));
  const loss = graph.nodes.findIndex((n) => n.op === 'SoftmaxCrossEntropyLoss');
  return graph.nodes.slice(0, loss).filter((n) => (n.op === 'MatMul' || n.op === 'Gemm') && counts.has(shapes.get(n.inputs[0])?.shape?.[0])).length;
}

for (const [name, task] of CASES) {
  test(`${name}: the head and the last layer after its attention run for the labelled positions only`, () => {
    const prepared = prepare(name, task);
    const graph = compileTrainStep(prepared, lossOf(task), 'step').graph;
    // The head's product(s), the attention's output projection and both feed-forward products.
    const counted = productsOnCountedRows(graph);
    assert.ok(counted >= 4, `${counted} forward products on the labelled rows`);
    assert.equal(productsOnCountedRows(compileTrainStep(prepared, lossOf(task), 'step', { selectedRowsOnly: false }).graph), 0);
  });

  test(`${name}: three AdamW steps train alike with and without the labelled rows' selection`, async () => {
    const prepared = prepare(name, task);
    const batch = batchOf(name);
    const labels = batch.get('labels')!.data as BigInt64Array;
    const labelled = labels.filter((v) => v !== -100n).length;
    assert.ok(labelled > 0 && labelled < labels.length, 'the batch has positions labelled -100');
    const whole = await trainSteps(prepared, lossOf(task), batch, { selectedRowsOnly: false }, ADAMW);
    const selected = await trainSteps(prepared, lossOf(task), batch, {}, ADAMW);
    assertTrainedAlike(whole, selected);
  });
}

test('bert_mlm_ts: a batch with no labelled position gives the same loss either way', async () => {
  const prepared = prepare('bert_mlm_ts', 'fill-mask');
  const batch = batchOf('bert_mlm_ts', (r) => r.labels.fill(-100));
  const whole = await trainSteps(prepared, lossOf('fill-mask'), batch, { selectedRowsOnly: false }, ADAMW);
  const selected = await trainSteps(prepared, lossOf('fill-mask'), batch, {}, ADAMW);
  assert.deepEqual(selected.out.map((r) => r.loss), whole.out.map((r) => r.loss));
});
