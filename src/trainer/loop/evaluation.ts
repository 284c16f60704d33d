// The evaluation loop behind evaluate() and predict(): batches in order, eval_loss as the
// sample-weighted mean of batch losses (reference §10.2), logits gathered for metrics, and the
// speed figures with Hugging Face's keys and rounding.

import { ValueInfo } from '../onnx/graph';
import { collate, microBatches } from '../data/collate';
import { Dataset, LabelSpec, batchExamples } from '../data/dataset';
import { EvalRunner, TrainingState } from '../programs/executor';
import type { EvalStepOptions } from '../programs/evalStep';
import type { Task } from '../programs/tasks';
import type { TrainingArguments } from '../config/trainingArguments';
import { LossHeadOptions } from '../programs/lossHeads';
import { PreparedModel } from '../programs/prepare';
import { SessionOptions } from '../programs/session';
import { EvalPrediction, Metrics, builtinMetrics } from './metrics';
import { MaskFill, batchRows, labelledRows, padRows } from './taskOutputs';
import { squadTextMetrics, taskMetrics } from './taskMetrics';

export interface LoopOutput {
  loss?: number;
  prediction: EvalPrediction;
  hasLabels: boolean;
  numSamples: number;
  numBatches: number;
  seconds: number;
}

/** What the evaluation loop needs to know about the targets and the task. */
export interface LoopTargets {
  spec: LabelSpec;
  /** Fill-mask: the id of the mask token, whose positions predictions fill. */
  maskTokenId?: number;
}

export async function evaluationLoop(runner: EvalRunner, state: TrainingState, dataset: Dataset, inputs: readonly ValueInfo[],
  targets: LoopTargets, batchSize: number, dropLast: boolean, onBatch: () => Promise<void> = async () => {}): Promise<LoopOutput> {
  const start = performance.now();
  const task = targets.spec.task ?? 'text-classification';
  const order = Array.from({ length: dataset.size }, (_, i) => i);
  const batches = microBatches(order, batchSize, dropLast);
  const rows = batches.reduce((n, b) => n + b.length, 0);
  let width = 0;
  let predictions = new Float32Array(0);
  const labelIds: number[] = [];
  // Tasks beyond sequence classification keep per-row outputs of varying length (taskOutputs.ts).
  const taskRows: number[][] = [];
  const taskLabels: number[][] = [];
  const fills: MaskFill[][] = [];
  let lossSum = 0;
  let offset = 0;
  for (const idx of batches) {
    const examples = batchExamples(dataset, idx, -1);
    const batch = collate(examples, inputs, dataset.hasLabels ? targets.spec : undefined, dataset.padding);
    const out = await runner.run(state, batch);
    if (out.loss !== undefined) lossSum += out.loss * examples.length;
    await onBatch();
    if (out.labelled) {
      const r = labelledRows(out.labelled, batch);
      taskRows.push(...r.predictions);
      taskLabels.push(...r.labels);
      continue;
    }
    // A step compiled for the loss alone (Evaluator.run) gives no logits.
    if (!out.logits) continue;
    if (task !== 'text-classification') {
      const allowed = examples.map((e) => e.qa && e.wordIds?.map((w) => w !== null));
      const r = batchRows(task, out.logits, batch, { maskTokenId: targets.maskTokenId, allowed });
      taskRows.push(...r.predictions);
      if (r.labels) taskLabels.push(...r.labels);
      if (r.fills) fills.push(...r.fills);
      continue;
    }
    const logits = out.logits.data as Float32Array;
    if (!width) {
      width = logits.length / examples.length;
      predictions = new Float32Array(rows * width);
    }
    predictions.set(logits, offset * width);
    offset += examples.length;
    if (dataset.hasLabels) {
      const labels = batch.get('labels')!.data;
      for (let i = 0; i < labels.length; i++) labelIds.push(Number(labels[i]));
    }
  }
  const loss = runner.withLoss && dataset.hasLabels && rows > 0 ? lossSum / rows : undefined;
  const timing = { hasLabels: dataset.hasLabels, numSamples: rows, numBatches: batches.length, seconds: (performance.now() - start) / 1000 };
  if (task !== 'text-classification') {
    const p = padRows(taskRows);
    const prediction = { predictions: Float32Array.from(p.data), labelIds: padRows(taskLabels).data, n: rows, width: p.width, fills: fills.length ? fills : undefined };
    return { loss, prediction, ...timing };
  }
  return { loss, prediction: { predictions, labelIds: Float64Array.from(labelIds), n: rows, width }, ...timing };
}

/** Hugging Face's speed_metrics: runtime rounded to 4 places, rates to 3. */
export function speedMetrics(prefix: string, seconds: number, samples: number, steps: number): Record<string, number> {
  const m: Record<string, number> = { [`${prefix}_runtime`]: round(seconds, 4) };
  if (seconds > 0) {
    m[`${prefix}_samples_per_second`] = round(samples / seconds, 3);
    m[`${prefix}_steps_per_second`] = round(steps / seconds, 3);
  }
  return m;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** What an eval step gives when only the built-in metrics read it, by task (none: the logits). */
const LEAN_OUTPUTS: Partial<Record<Task, EvalStepOptions['outputs']>> = {
  'text-generation': 'loss',
  'token-classification': 'labelled',
  'fill-mask': 'labelled',
};

/**
 * Runs evaluations and predictions: the eval-step session (created once), the metrics — the
 * user's compute_metrics, or the built-in ones named in the config — prefixed as Hugging Face
 * does ("eval_loss", then the metrics, then the speed figures).
 */
export class Evaluator {
  private runner?: EvalRunner;
  /** The eval step that reads only what the built-in metrics need (evalStep.ts `outputs`). */
  private lean?: EvalRunner;
  private unlabelled?: EvalRunner;

  constructor(
    private readonly prepared: PreparedModel,
    private readonly loss: LossHeadOptions,
    private readonly args: TrainingArguments,
    private readonly session: SessionOptions,
    private readonly compute?: (p: EvalPrediction) => Metrics | Promise<Metrics>,
    private readonly names?: string[],
    private readonly labelNames?: string[],
    private readonly maskTokenId?: number,
  ) {}

  /**
   * Metrics on `dataset`, and the predictions unless `predictions` is false. Then, without the
   * user's compute_metrics, the eval step gives only what the built-in metrics read, over the
   * labelled positions and real tokens alone, and copies no [batch, sequence, classes] scores out:
   * a causal LM's perplexity needs its loss alone (Hugging Face's evaluate() computes no logits
   * then either: prediction_loss_only), token classification's and fill-mask's metrics the class
   * predicted at each labelled position (the predictions elsewhere are then 0).
   */
  async run(state: TrainingState, dataset: Dataset, prefix: string, onBatch: () => Promise<void>, predictions = true): Promise<{ metrics: Metrics; prediction: EvalPrediction }> {
    const task = this.loss.task;
    const lean = !predictions && dataset.hasLabels && !this.compute ? LEAN_OUTPUTS[task ?? 'text-classification'] : undefined;
    // Data without labels (predict on new text) runs the predict step: no loss, no target inputs.
    const runner = lean ? (this.lean ??= await EvalRunner.create(this.prepared, this.loss, { ...this.session, outputs: lean }))
      : dataset.hasLabels ? (this.runner ??= await EvalRunner.create(this.prepared, this.loss, this.session))
      : (this.unlabelled ??= await EvalRunner.create(this.prepared, undefined, this.session));
    const targets = { spec: this.loss, maskTokenId: this.maskTokenId };
    const out = await evaluationLoop(runner, state, dataset, this.prepared.inputs, targets, this.args.per_device_eval_batch_size, this.args.dataloader_drop_last, onBatch);
    const raw: Metrics = out.hasLabels ? await this.metrics(out.prediction, out.loss, dataset) : {};
    const metrics: Metrics = {};
    if (out.loss !== undefined) metrics[`${prefix}_loss`] = out.loss;
    for (const [k, v] of Object.entries(raw)) metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
    return { metrics: { ...metrics, ...speedMetrics(prefix, out.seconds, out.numSamples, out.numBatches) }, prediction: out.prediction };
  }

  private async metrics(p: EvalPrediction, loss: number | undefined, data: Dataset): Promise<Metrics> {
    if (this.compute) return this.compute(p);
    const task = this.loss.task ?? 'text-classification';
    if (task === 'question-answering' && data.size && data.example(0).qa) return squadTextMetrics(data, p);
    const all = task === 'text-classification' ? builtinMetrics(this.loss.problemType, this.loss.numLabels, p) : taskMetrics(task, p, loss, this.labelNames);
    return this.names ? Object.fromEntries(this.names.map((m) => [m, all[m]])) : all;
  }

  async release(): Promise<void> {
    await this.runner?.release();
    await this.lean?.release();
    await this.unlabelled?.release();
    this.runner = undefined;
    this.lean = undefined;
    this.unlabelled = undefined;
  }
}
