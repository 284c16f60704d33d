// Three optimizer steps on one batch under given runner options, and the check that two such runs
// trained alike: for rewrites that must change how a step is computed, not what it computes
// (gradient checkpointing, the attention probabilities recomputed, the CPU sessions' layouts).
import assert from 'node:assert/strict';
import { EvalRunner, TrainStepRunner, initialState, type RunnerOptions } from '../../src/trainer/programs/executor';
import type { OptimizerConfig } from '../../src/trainer/programs/optimizers';
import type { prepareModel } from '../../src/trainer/programs/prepare';
import type { LossHeadOptions } from '../../src/trainer/programs/lossHeads';
import type { Tensor } from '../../src/trainer/onnx/tensor';
import type { Graph } from '../../src/trainer/onnx/graph';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { parityBatch } from './parityBatch';

const ADAMW: OptimizerConfig = { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };
/** SGD without momentum: the update is the gradient itself. */
export const SGD: OptimizerConfig = { name: 'sgd', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, momentum: 0, dampening: 0, nesterov: false };

export interface StepSettings {
  optimizer: OptimizerConfig;
  lr: number;
  maxGradNorm: number;
  randomKey: number;
  /** fp16's loss scale (GradScaler's), fed where the step runs in mixed precision. */
  lossScale?: number;
}

/** Steps 1–3 on `batch`, each a whole window; the step results and the state after them. */
export async function trainSteps(prepared: ReturnType<typeof prepareModel>, loss: LossHeadOptions, batch: Map<string, Tensor>, opts: RunnerOptions, settings: StepSettings) {
  const { optimizer, lr, maxGradNorm, randomKey, lossScale } = settings;
  const runner = await TrainStepRunner.create(prepared, loss, optimizer, false, opts);
  const state = initialState(prepared, runner.slots);
  const out = [];
  for (let step = 1; step <= 3; step++) out.push(await runner.microBatch(state, { batch, weight: 1, last: true, scalars: { lr, step, maxGradNorm, randomKey, lossScale } }));
  await runner.release();
  return { out, state };
}

/** Three AdamW steps (clipping at 1) over a parity fixture's whole train.jsonl. */
export function threeSteps(name: string, prepared: ReturnType<typeof prepareModel>, loss: LossHeadOptions, opts: RunnerOptions) {
  return trainSteps(prepared, loss, parityBatch(name, prepared), opts, ADAMW_STEPS);
}

/** AdamW at lr 1e-3, clipping at 1: the settings of threeSteps, for any batch. */
export const ADAMW_STEPS: StepSettings = { optimizer: ADAMW, lr: 1e-3, maxGradNorm: 1, randomKey: 5 };

/**
 * Forward products (before the loss) whose left operand is selected rows: [n, k] with n a named
 * dim that is not a product like batch·sequence (the real rows' count, a head's or a loss's rows).
 */
export function productsOnSelectedRows(graph: Graph): number {
  const shapes = new ShapeTable(graph).inferAll();
  const loss = graph.nodes.findIndex((n) => n.op === 'SoftmaxCrossEntropyLoss');
  return graph.nodes.slice(0, loss).filter((n) => {
    const rows = shapes.get(n.inputs[0])?.shape;
    return (n.op === 'MatMul' || n.op === 'Gemm') && rows?.length === 2 && typeof rows[0] === 'string' && !rows[0].includes('*');
  }).length;
}

/** The largest absolute difference between two arrays of the same length. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Losses to 1e-6 and gradient norms to 1e-5 relative, parameters to 1e-5. */
export function assertTrainedAlike(a: Awaited<ReturnType<typeof trainSteps>>, b: Awaited<ReturnType<typeof trainSteps>>) {
  a.out.forEach((r, i) => {
    assert.ok(Math.abs(r.loss - b.out[i].loss) <= 1e-6 * Math.abs(r.loss), `step ${i + 1} loss ${r.loss} vs ${b.out[i].loss}`);
    assert.ok(Math.abs(r.gradNorm! - b.out[i].gradNorm!) <= 1e-5 * r.gradNorm!, `step ${i + 1} grad norm`);
  });
  for (const [k, t] of a.state.params) {
    // An attention key bias (BERT's key, ViT's k_proj, DistilBERT's k_lin) has a true gradient of zero (softmax ignores a constant shift): its
    // gradient is rounding noise that Adam scales up to ±lr, so it cannot be compared.
    if (/(key|k_proj|k_lin)\.bias$/.test(k)) continue;
    const other = b.state.params.get(k)!.data as Float32Array;
    (t.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - other[i]) < 1e-5, `${k}[${i}]`));
  }
}

type EvalOptions = Parameters<typeof EvalRunner.create>[2];

/** The eval step under two sets of options (by default: without and with computing only the rows the loss reads): logits and loss to 1e-6. */
export async function assertEvalAlike(prepared: ReturnType<typeof prepareModel>, loss: LossHeadOptions, batch: Map<string, Tensor>,
  variants: [EvalOptions, EvalOptions] = [{ selectedRowsOnly: false }, { selectedRowsOnly: true }]) {
  const runner = await TrainStepRunner.create(prepared, loss, SGD, false, {});
  const state = initialState(prepared, runner.slots);
  await runner.release();
  const results = [];
  for (const options of variants) {
    const evaluator = await EvalRunner.create(prepared, loss, options);
    results.push(await evaluator.run(state, batch));
    await evaluator.release();
  }
  const [whole, selected] = results;
  assert.ok(maxDifference(whole.logits!.data as Float32Array, selected.logits!.data as Float32Array) <= 1e-6);
  assert.ok(Math.abs(whole.loss! - selected.loss!) <= 1e-6 * Math.abs(whole.loss!));
}
