// Best-model tracking (reference §7.5): the metric_for_best_model value of each in-training
// evaluation ("eval_" implied), and Hugging Face's _determine_best_metric.

import type { TrainingArguments } from '../config/trainingArguments';
import { UserError } from '../errors';
import { Metrics } from './metrics';
import { TrainerState } from './state';

/** The logged key of metric_for_best_model, e.g. "accuracy" → "eval_accuracy". */
export function metricKey(args: TrainingArguments): string | undefined {
  const m = args.metric_for_best_model;
  return m ? (m.startsWith('eval_') ? m : `eval_${m}`) : undefined;
}

/** The metric_for_best_model value of an evaluation (a clear error when it is missing). */
export function metricValue(args: TrainingArguments, metrics: Metrics): number {
  const key = metricKey(args)!;
  const v = metrics[key];
  if (v === undefined) throw new UserError(`training.metric_for_best_model: "${key}" is not among the evaluation metrics (${Object.keys(metrics).join(', ')})`);
  return v;
}

/** A strictly better value becomes the best metric, at this step; returns whether it did. */
export function updateBestMetric(args: TrainingArguments, state: TrainerState, metrics: Metrics): boolean {
  if (!metricKey(args)) return false;
  const v = metricValue(args, metrics);
  const best = state.best_metric;
  const better = best === null || (args.greater_is_better ? v > best : v < best);
  if (better) {
    state.best_metric = v;
    state.best_global_step = state.global_step;
  }
  return better;
}
