// Token-level losses read only the labelled positions (lossHeads.ts selectLabelledTokens, moved by
// selectedTokens.ts): the head and the last layer after its attention run for the positions whose
// label is not -100, and three AdamW steps give what computing every position gives, on the task
// fixtures Hugging Face's exporters wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/trainer/onnx/model';
import type { onnx } from '../../src/trainer/onnx/generated/onnx';
import { buildBert } from '../../src/trainer/models/bert';
import { DataType, Tensor, fromNumbers } from '../../src/trainer/onnx/tensor';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { EVAL_IO, compileEvalStep } from '../../src/trainer/programs/evalStep';
import { EvalRunner, initialState } from '../../src/trainer/programs/executor';
import type { LossHeadOptions } from '../../src/trainer/programs/lossHeads';
import type { Task } from '../../src/trainer/programs/tasks';
import { copyFixture, exportDir, readJson, runCli, tempDir } from '../helpers';
import { ADAMW_STEPS, assertTrainedAlike, productsOnSelectedRows, trainSteps } from './sameTraining';

const CASES: [string, Task][] = [
  ['bert_mlm_ts', 'fill-mask'],
  ['bert_tokcls_ts', 'token-classification'],
  ['bert_tokcls_dynamo', 'token-classification'],
  ['gpt2_clm_ts', 'text-generation'],
  ['gpt2_clm_dynamo', 'text-generation'],
  ['llama_clm_lora_ts', 'text-generation'],
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

for (const [name, task] of CASES) {
  test(`${name}: the head and the last layer after its attention run for the labelled positions only`, () => {
    const prepared = prepare(name, task);
    const graph = compileTrainStep(prepared, lossOf(task), 'step').graph;
    // The head's product(s), the attention's output projection and both feed-forward products.
    const selected = productsOnSelectedRows(graph);
    assert.ok(selected >= 4, `${selected} forward products on the labelled rows`);
    assert.equal(productsOnSelectedRows(compileTrainStep(prepared, lossOf(task), 'step', { selectedRowsOnly: false }).graph), 0);
  });

  test(`${name}: three AdamW steps train alike with and without the labelled rows' selection`, async () => {
    const prepared = prepare(name, task);
    const batch = batchOf(name);
    const labels = batch.get('labels')!.data as BigInt64Array;
    const labelled = labels.filter((v) => v !== -100n).length;
    assert.ok(labelled > 0 && labelled < labels.length, 'the batch has positions labelled -100');
    const whole = await trainSteps(prepared, lossOf(task), batch, { selectedRowsOnly: false }, ADAMW_STEPS);
    const selected = await trainSteps(prepared, lossOf(task), batch, {}, ADAMW_STEPS);
    assertTrainedAlike(whole, selected);
  });
}

test('bert_mlm_ts: a batch with no labelled position gives the same loss either way', async () => {
  const prepared = prepare('bert_mlm_ts', 'fill-mask');
  const batch = batchOf('bert_mlm_ts', (r) => r.labels.fill(-100));
  const whole = await trainSteps(prepared, lossOf('fill-mask'), batch, { selectedRowsOnly: false }, ADAMW_STEPS);
  const selected = await trainSteps(prepared, lossOf('fill-mask'), batch, {}, ADAMW_STEPS);
  assert.deepEqual(selected.out.map((r) => r.loss), whole.out.map((r) => r.loss));
});

// With a token-level loss, padding is also left out of every layer (paddingRows.ts), since the
// loss reads no padding position but those it labels: encoders, and decoders whose q, k and v come
// from one projection split in three (GPT-2) or through rotary embeddings (Llama). The pairs each
// attention gets: one per projection entering it (GPT-2's fused one counts once); the products of
// a layer: q, k, v (GPT-2: one), output, and the feed-forward block's (Llama's gated: three).
const PADDED: [string, Task, number, number][] = [
  ['bert_mlm_ts', 'fill-mask', 3, 6],
  ['bert_tokcls_ts', 'token-classification', 3, 6],
  ['bert_tokcls_dynamo', 'token-classification', 3, 6],
  ['gpt2_clm_ts', 'text-generation', 1, 4],
  ['gpt2_clm_dynamo', 'text-generation', 1, 4],
  ['llama_clm_lora_ts', 'text-generation', 3, 7],
  // More families (test/fixtures/tasks-probe): Phi-3 cuts its fused q/k/v and gate/up products
  // apart with Slices (TorchScript) or a Split (dynamo), GPT-NeoX its fused q/k/v with Slices.
  ['electra_tokcls_ts', 'token-classification', 3, 6],
  ['xlm_roberta_tokcls_dynamo', 'token-classification', 3, 6],
  ['distilbert_mlm_dynamo', 'fill-mask', 3, 6],
  ['xlm_roberta_mlm_ts', 'fill-mask', 3, 6],
  ['qwen2_clm_ts', 'text-generation', 3, 7],
  ['mistral_clm_dynamo', 'text-generation', 3, 7],
  ['gemma_clm_dynamo', 'text-generation', 3, 7],
  ['phi3_clm_ts', 'text-generation', 3, 4],
  ['phi3_clm_dynamo', 'text-generation', 3, 4],
  ['gpt_neox_clm_ts', 'text-generation', 1, 4],
  ['opt_clm_dynamo', 'text-generation', 3, 6],
  // ModernBERT's fused q/k/v is split along a [B, S, 3, heads, d] view (one pair an attention, and
  // its feed-forward's gate and up are one product too); Qwen3 normalizes q and k per head.
  ['modernbert_tokcls_dynamo', 'token-classification', 1, 4],
  ['modernbert_mlm_ts', 'fill-mask', 1, 4],
  ['qwen3_clm_ts', 'text-generation', 3, 7],
  ['gemma2_clm_ts', 'text-generation', 3, 7],
  // Scores with more than q·kᵀ and a mask: DeBERTa-v2's relative-position terms of q and k (c2p,
  // p2c) and its masked fill, MPNet's relative position bias, BLOOM's ALiBi (and its q, k and v
  // gathered from one [B, S, heads, 3, d] view: one pair an attention).
  ['deberta_v2_mlm_ts', 'fill-mask', 3, 6],
  ['mpnet_tokcls_ts', 'token-classification', 3, 6],
  ['bloom_clm_ts', 'text-generation', 1, 4],
];
for (const [name, task, pairs, products] of PADDED) {
  test(`${name}: padding positions are left out of every layer's projections`, () => {
    const prepared = prepare(name, task);
    const attentions = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
    // Each pair's ScatterND, in the forward pass (before the loss).
    const scatters = (opts: object) => {
      const nodes = compileTrainStep(prepared, lossOf(task), 'step', opts).graph.nodes;
      return nodes.slice(0, nodes.findIndex((n) => n.op === 'SoftmaxCrossEntropyLoss')).filter((n) => n.op === 'ScatterND').length;
    };
    assert.equal(scatters({ paddingRowsOnly: false }), 0);
    assert.equal(scatters({}), pairs * attentions);
    // Every layer's products run on selected rows: the real ones, and after the last attention
    // the labelled ones (the layer before reads the real rows that both selections share).
    const selected = productsOnSelectedRows(compileTrainStep(prepared, lossOf(task), 'step').graph);
    assert.ok(selected >= products * attentions, `${selected} forward products on selected rows for ${attentions} layers`);
  });

  test(`${name}: three AdamW steps train alike with and without padding left out, padding positions labelled too`, async () => {
    const prepared = prepare(name, task);
    // Two padding positions carry a label: the loss reads them (a causal LM the position before
    // each), so they must be computed as exported.
    let edited = false;
    const batch = batchOf(name, (r) => {
      const at = r.attention_mask.indexOf(0);
      if (!edited && at > 0 && at + 1 < r.labels.length) {
        r.labels[at] = r.input_ids[0] % 5;
        r.labels[at + 1] = r.input_ids[1] % 5;
        edited = true;
      }
    });
    assert.ok(edited, 'the batch pads');
    const whole = await trainSteps(prepared, lossOf(task), batch, { paddingRowsOnly: false }, ADAMW_STEPS);
    const packed = await trainSteps(prepared, lossOf(task), batch, {}, ADAMW_STEPS);
    assertTrainedAlike(whole, packed);
  });
}

// Mixed precision reads the selected rows too (the logits themselves may be gone from the graph).
for (const name of ['bert_mlm_ts', 'gpt2_clm_ts']) {
  test(`${name}: fp16 training follows Hugging Face Trainer's float32 log within 1%`, () => {
    const dir = tempDir(`fp16-${name}`);
    copyFixture(exportDir(name), dir);
    const config = readJson(path.join(dir, 'trainer.json')) as { training: Record<string, unknown> };
    config.training.fp16 = true;
    fs.writeFileSync(path.join(dir, 'trainer.json'), JSON.stringify(config));
    const r = runCli(['train', path.join(dir, 'trainer.json')]);
    assert.equal(r.code, 0, r.stderr);
    const expected = (readJson(path.join(dir, 'expected.json')) as { loss: number[] }).loss;
    const got = (readJson(path.join(dir, 'out', 'trainer_state.json')) as { log_history: { loss?: number }[] }).log_history.filter((e) => e.loss !== undefined);
    assert.equal(got.length, expected.length);
    got.forEach((e, i) => assert.ok(Math.abs(e.loss! - expected[i]) <= 1e-2 * expected[i], `step ${i + 1}: loss ${e.loss} vs ${expected[i]}`));
  });
}

// The built-in BERT splits heads with Reshape(x, [0, 0, heads, d]), which copies its input's
// leading dims: the rows must go back in [batch, sequence, hidden], not in [batch·sequence, hidden].
// As a causal LM (masks of -10000, not -inf) padded on the left, the last padding position
// predicts the first real token, and its attention sees padding keys alone.
const BUILTIN: [Task, 'right' | 'left'][] = [['fill-mask', 'right'], ['token-classification', 'right'], ['text-generation', 'right'], ['text-generation', 'left']];
for (const [task, side] of BUILTIN) {
  test(`built-in BERT (${task}, padded on the ${side}): padding left out trains alike`, async () => {
    const graph = buildBert({ vocabSize: 50, padTokenId: 0, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 16, numLabels: 5, seed: 3, dropout: 0, task });
    const prepared = prepareModel({ path: 'bert', proto: { opsetImport: [{ domain: '', version: graph.opset }] } as unknown as onnx.ModelProto, graph }, { task });
    const [rows, length] = [6, 12];
    const real = (r: number) => 5 + r;
    const at = (r: number, s: number) => r * length + s;
    const isReal = (i: number) => {
      const [r, s] = [Math.floor(i / length), i % length];
      return side === 'right' ? s < real(r) : s >= length - real(r);
    };
    const ids = Array.from({ length: rows * length }, (_, i) => (isReal(i) ? 1 + ((i * 7) % 49) : 0));
    const mask = ids.map((v) => (v ? 1 : 0));
    const labels = ids.map((v, i) => (!v ? -100 : task === 'text-generation' ? v : i % 3 !== 0 ? -100 : task === 'fill-mask' ? v : v % 5));
    const batch = new Map<string, Tensor>();
    for (const input of prepared.inputs) batch.set(input.name, fromNumbers(DataType.INT64, [rows, length], input.name === 'attention_mask' ? mask : input.name === 'input_ids' ? ids : new Array(rows * length).fill(0)));
    batch.set('labels', fromNumbers(DataType.INT64, [rows, length], labels));
    assert.ok(mask[at(0, side === 'right' ? length - 1 : 0)] === 0, 'the batch pads');
    const scatters = (opts: object) => compileTrainStep(prepared, lossOf(task), 'step', opts).graph.nodes.filter((n) => n.op === 'ScatterND').length;
    assert.ok(scatters({}) - scatters({ paddingRowsOnly: false }) >= 6, 'the padding pass applies');
    const whole = await trainSteps(prepared, lossOf(task), batch, { paddingRowsOnly: false }, ADAMW_STEPS);
    const packed = await trainSteps(prepared, lossOf(task), batch, {}, ADAMW_STEPS);
    assertTrainedAlike(whole, packed);
  });
}

// Left padding: a causal LM's last padding position predicts the first real token, so the loss
// reads a row whose attention sees padding keys alone; the pass keeps such a sequence whole.
for (const name of ['gpt2_clm_ts', 'llama_clm_lora_ts']) {
  test(`${name}: left-padded sequences train alike with and without padding left out`, async () => {
    const prepared = prepare(name, 'text-generation');
    let moved = 0;
    const batch = batchOf(name, (r) => {
      const pads = r.attention_mask.filter((m) => m === 0).length;
      if (!pads || moved >= 4) return;
      moved++;
      for (const k of Object.keys(r)) {
        const fill = k === 'attention_mask' ? 0 : k === 'labels' ? -100 : r[k][r[k].length - 1];
        r[k] = [...new Array(pads).fill(fill), ...r[k].slice(0, r[k].length - pads)];
      }
    });
    assert.equal(moved, 4, 'four sequences are left-padded');
    const whole = await trainSteps(prepared, lossOf('text-generation'), batch, { paddingRowsOnly: false }, ADAMW_STEPS);
    const packed = await trainSteps(prepared, lossOf('text-generation'), batch, {}, ADAMW_STEPS);
    assertTrainedAlike(whole, packed);
  });
}

/** One run of the eval step giving every position's logits, and one of the step compiled for `outputs`. */
async function evalWholeAndLean(prepared: ReturnType<typeof prepare>, task: Task, batch: Map<string, Tensor>, outputs: 'loss' | 'labelled') {
  const state = initialState(prepared, []);
  const results = [];
  for (const options of [{}, { outputs }]) {
    const runner = await EvalRunner.create(prepared, lossOf(task), options);
    results.push(await runner.run(state, batch));
    await runner.release();
  }
  return results;
}

// A causal LM's evaluation reads its loss alone (its built-in metric is the perplexity), as
// Hugging Face's evaluate() does without compute_metrics: the eval step compiled for the loss
// reads the labelled positions and leaves padding out, like the train step.
const EVAL_CASES: [string, number][] = [['gpt2_clm_ts', 4], ['gpt2_clm_dynamo', 4], ['llama_clm_lora_ts', 7], ['qwen2_clm_ts', 7], ['phi3_clm_dynamo', 4]];
for (const [name, products] of EVAL_CASES) {
  test(`${name}: the eval step for the loss alone gives the whole eval step's loss, its layers on the real rows`, async () => {
    const task = 'text-generation';
    const prepared = prepare(name, task);
    const layers = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
    const graph = compileEvalStep(prepared, lossOf(task), { outputs: 'loss' });
    assert.deepEqual(graph.outputs.map((o) => o.name), [EVAL_IO.loss]);
    assert.ok(productsOnSelectedRows(graph) >= products * layers, `${productsOnSelectedRows(graph)} products on selected rows for ${layers} layers`);
    assert.equal(productsOnSelectedRows(compileEvalStep(prepared, lossOf(task))), 0);
    const [whole, alone] = await evalWholeAndLean(prepared, task, batchOf(name), 'loss');
    assert.ok(whole.logits && !alone.logits);
    assert.ok(Math.abs(alone.loss! - whole.loss!) <= 1e-6 * whole.loss!, `loss ${alone.loss} vs ${whole.loss}`);
  });
}

// Token classification's and fill-mask's built-in metrics read the class predicted at each
// labelled position: the eval step compiled for those gives them alone (and the loss), over the
// labelled positions and real tokens only.
const PREDICTED_CASES: [string, Task, number][] = [
  ['bert_tokcls_ts', 'token-classification', 6], ['bert_tokcls_dynamo', 'token-classification', 6], ['bert_mlm_ts', 'fill-mask', 6],
  ['electra_tokcls_ts', 'token-classification', 6], ['xlm_roberta_mlm_ts', 'fill-mask', 6], ['distilbert_mlm_dynamo', 'fill-mask', 6],
];
for (const [name, task, products] of PREDICTED_CASES) {
  test(`${name}: the eval step for the labelled positions predicts the whole eval step's classes there, its layers on the real rows`, async () => {
    const prepared = prepare(name, task);
    const layers = prepared.graph.nodes.filter((n) => n.op === 'Softmax').length;
    const graph = compileEvalStep(prepared, lossOf(task), { outputs: 'labelled' });
    assert.deepEqual(graph.outputs.map((o) => o.name).sort(), [EVAL_IO.labelledAt, EVAL_IO.labelledPredicted, EVAL_IO.loss].sort());
    assert.ok(productsOnSelectedRows(graph) >= products * layers, `${productsOnSelectedRows(graph)} products on selected rows for ${layers} layers`);
    const batch = batchOf(name);
    const [whole, lean] = await evalWholeAndLean(prepared, task, batch, 'labelled');
    assert.ok(Math.abs(lean.loss! - whole.loss!) <= 1e-6 * whole.loss!, `loss ${lean.loss} vs ${whole.loss}`);
    // Every labelled position, in order, with the class the whole step's logits give it.
    const labels = Array.from(batch.get('labels')!.data as BigInt64Array, Number);
    const at = Array.from(lean.labelled!.at.data as BigInt64Array, Number);
    assert.deepEqual(at.filter((p) => labels[p] !== -100), labels.flatMap((l, p) => (l !== -100 ? [p] : [])));
    const logits = whole.logits!.data as Float32Array;
    const classes = whole.logits!.dims[2];
    const predicted = Array.from(lean.labelled!.predicted.data as BigInt64Array, Number);
    at.forEach((p, k) => {
      const row = logits.subarray(p * classes, (p + 1) * classes);
      assert.equal(predicted[k], row.indexOf(Math.max(...row)), `position ${p}`);
    });
  });
}
