// Padding tokens left out of encoder classifiers' token-wise operators (programs/paddingRows.ts,
// moved by selectedTokens.ts): where it applies, every projection and feed-forward product runs on
// the batch's real rows, and three AdamW steps and the eval step give what computing every row gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { DataType, Tensor, fromNumbers } from '../../src/trainer/onnx/tensor';
import { insertPaddingRows } from '../../src/trainer/programs/paddingRows';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep, computeReadRowsOnly } from '../../src/trainer/programs/trainStep';
import { FIXTURES, exportDir } from '../helpers';
import { ADAMW_STEPS, assertEvalAlike, assertTrainedAlike, productsOnSelectedRows, trainSteps } from './sameTraining';
import { jsonlBatch, parityBatch } from './parityBatch';

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;
const prepare = (name: string) => prepareModel(loadModel(path.join(exportDir(name), 'model.onnx')));

/** Products of a [rows, hidden] operand with a 2-D weight (lifted to a graph input in the train step). */
function productsOnRows(graph: Graph): number {
  const shapes = new ShapeTable(graph).inferAll();
  return graph.nodes.filter((n) => n.op === 'MatMul' && shapes.get(n.inputs[0])?.shape?.length === 2 && shapes.get(n.inputs[1])?.shape?.length === 2).length;
}

/** Products whose left operand is one row per sequence ([batch, n], batch the mask's first dim). */
function productsOnHeadRows(graph: Graph, batch: unknown): number {
  const shapes = new ShapeTable(graph).inferAll();
  return graph.nodes.filter((n) => (n.op === 'MatMul' || n.op === 'Gemm') && shapes.get(n.inputs[0])?.shape?.length === 2 && shapes.get(n.inputs[0])!.shape![0] === batch).length;
}

/** Shape nodes reading a float value with the real rows' count (a NonZero's count) as a dim. */
function shapeReadsOfPackedValues(graph: Graph): number {
  const shapes = new ShapeTable(graph).inferAll();
  const counts = new Set(graph.nodes.filter((n) => n.op === 'NonZero').map((n) => shapes.get(n.outputs[0])?.shape?.[1]));
  return graph.nodes.filter((n) => n.op === 'Shape' && shapes.get(n.inputs[0])?.type === DataType.FLOAT && shapes.get(n.inputs[0])?.shape?.some((d) => counts.has(d))).length;
}

// DeBERTa-v2 adds relative-position terms of q and k (c2p, p2c) to the scores and masks them with
// a fill (Where) rather than an additive mask.
const ENCODERS = ['bert_ts', 'bert_dynamo', 'distilbert_ts', 'distilbert_dynamo', 'roberta_ts', 'roberta_dynamo', 'albert_ts', 'deberta_v2_ts', 'deberta_v2_dynamo'];

for (const name of ENCODERS) {
  test(`${name}: every projection and feed-forward product runs on the real rows`, () => {
    const prepared = prepare(name);
    const attentions = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
    // q, k and v of each attention, and the head's read.
    assert.equal(insertPaddingRows(prepared.graph.clone()), 3 * attentions + 1);
    const packed = productsOnRows(compileTrainStep(prepared, LOSS, 'step').graph);
    const whole = productsOnRows(compileTrainStep(prepared, LOSS, 'step', { paddingRowsOnly: false }).graph);
    // Six products a layer (q, k, v, output, two feed-forward), forward and in the backward pass's input gradients.
    assert.ok(packed >= 6 * attentions, `${packed} products on rows for ${attentions} layers`);
    assert.ok(packed > whole, `${packed} against ${whole} without`);
  });

  test(`${name}: the last layer after its attention runs on the head's rows, and no packed activation is kept for its shape`, () => {
    const prepared = prepare(name);
    const forward = prepared.graph.clone();
    computeReadRowsOnly(forward, new Set([...prepared.outputs, prepared.logits]), true);
    const batch = prepared.graph.inputs.find((i) => i.name === 'attention_mask')!.shape![0];
    // The output projection, both feed-forward products, and the head's own (pooler, classifier).
    assert.ok(productsOnHeadRows(forward, batch) >= 5, `${productsOnHeadRows(forward, batch)} products on one row per sequence`);
    // The gradients' shapes of the packed rows are read from the row indices, not from the rows.
    assert.equal(shapeReadsOfPackedValues(compileTrainStep(prepared, LOSS, 'step').graph), 0);
  });
}

// ModernBERT computes q, k and v with one product, viewed as [batch, sequence, 3, heads, d] and
// split along its third axis: one pair per attention, in front of that view.
for (const name of ['modernbert_ts', 'modernbert_dynamo']) {
  test(`${name}: the fused projection's split along a row's axis lets every layer run on the real rows`, async () => {
    const prepared = prepare(name);
    const attentions = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
    assert.equal(insertPaddingRows(prepared.graph.clone()), attentions + 1);
    // Four products a layer: the fused q/k/v, the output, the fused gate/up and the down projection.
    const selected = productsOnSelectedRows(compileTrainStep(prepared, LOSS, 'step').graph);
    assert.ok(selected >= 4 * attentions, `${selected} forward products on selected rows for ${attentions} layers`);
    assert.ok(selected > productsOnSelectedRows(compileTrainStep(prepared, LOSS, 'step', { paddingRowsOnly: false }).graph));
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    assert.ok(padded(batch));
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { paddingRowsOnly: false }, ADAMW_STEPS), await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS));
    await assertEvalAlike(prepared, LOSS, batch, [{ paddingRowsOnly: false }, {}]);
  });
}

for (const name of ['vit_ts', 'bart_ts']) {
  test(`${name}: no attention mask from a [batch, sequence] input with a first- or last-token head — left unchanged`, () => {
    const graph = prepare(name).graph.clone();
    const before = graph.nodes.map((n) => n.name);
    assert.equal(insertPaddingRows(graph), 0);
    assert.deepEqual(graph.nodes.map((n) => n.name), before);
  });
}

/** Whether a batch pads some rows (so that the comparison means something). */
function padded(batch: Map<string, Tensor>): boolean {
  return Array.from(batch.get('attention_mask')!.data as BigInt64Array).some((v) => Number(v) === 0);
}

test('bert: leaving the padding rows out trains identically to computing them', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx')));
  const batch = parityBatch('bert', prepared);
  assert.ok(padded(batch));
  assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { paddingRowsOnly: false }, ADAMW_STEPS), await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS));
});

for (const name of ['distilbert_ts', 'roberta_dynamo', 'albert_ts', 'deberta_v2_ts', 'deberta_v2_dynamo']) {
  test(`${name}: leaving the padding rows out trains identically to computing them`, async () => {
    const prepared = prepare(name);
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    assert.ok(padded(batch));
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { paddingRowsOnly: false }, ADAMW_STEPS), await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS));
  });
}

// Mixed precision converts the graph after the pass, the pairs' float zeros with the rows they fill.
for (const [name, products] of [['distilbert_ts', 6], ['gpt2_ts', 4]] as const) {
test(`${name}: under fp16 the padding rows are left out too, and it trains as computing them does`, async () => {
  const prepared = prepare(name);
  const fp16 = { precision: 'fp16' } as const;
  const layers = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
  const selected = productsOnSelectedRows(compileTrainStep(prepared, LOSS, 'step', fp16).graph);
  assert.ok(selected >= products * layers, `${selected} forward products on selected rows for ${layers} layers`);
  assert.ok(selected > productsOnSelectedRows(compileTrainStep(prepared, LOSS, 'step', { ...fp16, paddingRowsOnly: false }).graph));
  const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
  assert.ok(padded(batch));
  const settings = { ...ADAMW_STEPS, lossScale: 1024 };
  const whole = await trainSteps(prepared, LOSS, batch, { ...fp16, paddingRowsOnly: false }, settings);
  const packed = await trainSteps(prepared, LOSS, batch, fp16, settings);
  // float16 rounds differently where fewer rows are summed: losses and gradient norms agree to
  // within float16's precision (2^-11, about 4.9e-4, relative), and the parameters move less (on average) from
  // fp16 computing every row than float32 training does.
  const float32 = await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS);
  packed.out.forEach((r, i) => {
    assert.ok(Math.abs(r.loss - whole.out[i].loss) <= 1e-4 * whole.out[i].loss, `step ${i + 1} loss ${r.loss} vs ${whole.out[i].loss}`);
    assert.ok(Math.abs(r.gradNorm! - whole.out[i].gradNorm!) <= 1e-3 * whole.out[i].gradNorm!, `step ${i + 1} grad norm ${r.gradNorm} vs ${whole.out[i].gradNorm}`);
  });
  // The mean, not the largest: Adam turns a rounding on a near-zero gradient into a whole step.
  const moved = (other: typeof whole) => {
    let sum = 0, count = 0;
    for (const [k, t] of whole.state.params) {
      const a = t.data as Float32Array, b = other.state.params.get(k)!.data as Float32Array;
      for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
      count += a.length;
    }
    return sum / count;
  };
  assert.ok(moved(packed) < moved(float32), `parameters ${moved(packed)} from fp16 computing every row, float32 ${moved(float32)}`);
});
}

test('bert_ts: a sequence whose first position is padding still has that row computed as exported', async () => {
  const prepared = prepare('bert_ts');
  const batch = jsonlBatch(path.join(exportDir('bert_ts'), 'train.jsonl'), prepared);
  const mask = batch.get('attention_mask')!;
  const values = Array.from(mask.data as BigInt64Array, Number);
  const length = mask.dims[1];
  // Left-pad three sequences: their first positions become padding, the head still reads them.
  for (const row of [1, 4, 7]) for (let s = 0; s < 3; s++) values[row * length + s] = 0;
  batch.set('attention_mask', fromNumbers(DataType.INT64, [...mask.dims], values));
  assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { paddingRowsOnly: false }, ADAMW_STEPS), await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS));
});

for (const name of ['roberta_ts', 'deberta_v2_dynamo']) {
  test(`${name}: the eval step leaving the padding rows out gives the same logits and loss`, async () => {
    const prepared = prepare(name);
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    await assertEvalAlike(prepared, LOSS, batch, [{ paddingRowsOnly: false }, {}]);
  });
}

// Decoder classifiers (GPT-2's, Llama's) read each sequence's last token at run-time positions:
// those count as real rows, and the head reads them from the real rows at their places.
// (test/fixtures/exports-probe: Phi-3 and GPT-NeoX cut their fused projections apart with Slices;
// Qwen3 and Gemma 3 normalize q and k per head (RMSNorm) between the head split and the rotary
// embedding; StableLM's dynamo export rotates a part of each head and repeats k and v, a longer
// way from the projection to the attention.)
const DECODERS: [string, number][] = [['gpt2_ts', 4], ['gpt2_dynamo', 4], ['llama_ts', 7], ['llama_dynamo', 7], ['phi3_ts', 4], ['gpt_neox_ts', 4], ['qwen2_dynamo', 7],
  ['qwen3_ts', 7], ['gemma3_text_dynamo', 7], ['stablelm_dynamo', 7]];

for (const [name, products] of DECODERS) {
  test(`${name}: a decoder classifier's layers run on the real rows`, () => {
    const prepared = prepare(name);
    const layers = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
    assert.ok(insertPaddingRows(prepared.graph.clone()) > 0);
    // Every layer's products on the real rows, the last one's after its attention on the head's.
    const selected = productsOnSelectedRows(compileTrainStep(prepared, LOSS, 'step').graph);
    assert.ok(selected >= products * layers, `${selected} forward products on selected rows for ${layers} layers`);
    // Without the pass, only the last layer after its attention (the head's selection).
    assert.ok(productsOnSelectedRows(compileTrainStep(prepared, LOSS, 'step', { paddingRowsOnly: false }).graph) < products * layers);
  });

  test(`${name}: a decoder classifier trains and evaluates alike with and without padding left out`, async () => {
    const prepared = prepare(name);
    const batch = jsonlBatch(path.join(exportDir(name), 'train.jsonl'), prepared);
    assert.ok(padded(batch));
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { paddingRowsOnly: false }, ADAMW_STEPS), await trainSteps(prepared, LOSS, batch, {}, ADAMW_STEPS));
    await assertEvalAlike(prepared, LOSS, batch, [{ paddingRowsOnly: false }, {}]);
  });
}
