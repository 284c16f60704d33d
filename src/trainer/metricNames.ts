// The built-in metrics' names, by problem type and task: what a config may ask for and what an
// evaluation reports by default. A leaf module (types only), so that config/ can check names
// without importing the metric computations of loop/.

import type { ProblemType } from './programs/lossHeads';
import type { Task } from './programs/tasks';

export const SINGLE_LABEL_METRICS = ['accuracy', 'f1', 'precision', 'recall', 'matthews_correlation',
  'f1_macro', 'f1_micro', 'f1_weighted', 'precision_macro', 'precision_micro', 'precision_weighted',
  'recall_macro', 'recall_micro', 'recall_weighted'];
export const MULTI_LABEL_METRICS = ['accuracy', 'f1_micro', 'f1_macro', 'precision_micro', 'recall_micro', 'hamming_loss'];
export const REGRESSION_METRICS = ['mse', 'mae', 'r2'];

/** The tasks beyond sequence classification report the names Hugging Face's example scripts do. */
const TASK_NAMES: Record<Exclude<Task, 'text-classification'>, string[]> = {
  'token-classification': ['precision', 'recall', 'f1', 'accuracy'],
  'question-answering': ['exact_match', 'f1'],
  'text-generation': ['perplexity'],
  'fill-mask': ['accuracy', 'perplexity'],
};

export const TASK_METRICS = [...new Set(Object.values(TASK_NAMES).flat())];

export const ALL_METRICS = [...new Set([...SINGLE_LABEL_METRICS, ...MULTI_LABEL_METRICS, ...REGRESSION_METRICS, ...TASK_METRICS])];

/** Metric names a task can report (every one is reported by default). */
export function taskMetricNames(task: Exclude<Task, 'text-classification'>): string[] {
  return TASK_NAMES[task];
}

/** The metrics reported when the config names none. */
export function defaultMetrics(problem: ProblemType, numLabels: number, task: Task = 'text-classification'): string[] {
  if (task !== 'text-classification') return taskMetricNames(task);
  if (problem === 'regression') return ['mse', 'mae', 'r2'];
  if (problem === 'multi_label_classification') return ['accuracy', 'f1_micro'];
  return ['accuracy', numLabels === 2 ? 'f1' : 'f1_macro'];
}

/** Names of the built-in metrics a problem type can report. */
export function builtinMetricNames(problem: ProblemType, numLabels: number, task: Task = 'text-classification'): string[] {
  if (task !== 'text-classification') return taskMetricNames(task);
  if (problem === 'regression') return REGRESSION_METRICS;
  if (problem === 'multi_label_classification') return MULTI_LABEL_METRICS;
  return numLabels === 2 ? SINGLE_LABEL_METRICS : SINGLE_LABEL_METRICS.filter((m) => !['f1', 'precision', 'recall'].includes(m));
}
