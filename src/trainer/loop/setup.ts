// Maps TrainingArguments onto the compiled programs' options: the optimizer (optim, optim_args)
// and the loss head (problem type, class weights, label smoothing).

import type { TrainingArguments } from '../config/trainingArguments';
import { Dataset } from '../data/dataset';
import { UserError } from '../errors';
import { LossHeadOptions, ProblemType } from '../programs/lossHeads';
import { OptimizerConfig } from '../programs/optimizers';
import type { Task } from '../programs/tasks';
import { PreparedModel } from '../programs/prepare';

/** Parses Hugging Face's optim_args string: "momentum=0.9,nesterov=True". */
export function parseOptimArgs(text: string | null): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const [k, v] = part.split('=').map((s) => s.trim());
    if (!k || v === undefined) throw new UserError(`training.optim_args: "${part}" is not key=value`);
    if (/^(true|false)$/i.test(v)) out[k] = v.toLowerCase() === 'true';
    else if (Number.isFinite(Number(v))) out[k] = Number(v);
    else throw new UserError(`training.optim_args: value of ${k} must be a number or True/False, got "${v}"`);
  }
  return out;
}

export function optimizerFromArgs(args: TrainingArguments): OptimizerConfig {
  const extra = parseOptimArgs(args.optim_args);
  const known = args.optim === 'sgd' ? ['momentum', 'dampening', 'nesterov'] : [];
  for (const k of Object.keys(extra)) {
    if (!known.includes(k)) throw new UserError(`training.optim_args: "${k}" is not an option of ${args.optim}${known.length ? ` (options: ${known.join(', ')})` : ''}`);
  }
  const momentum = Number(extra.momentum ?? 0);
  const nesterov = extra.nesterov === true;
  if (nesterov && momentum <= 0) throw new UserError('training.optim_args: nesterov needs momentum > 0');
  return {
    name: args.optim,
    beta1: args.adam_beta1,
    beta2: args.adam_beta2,
    epsilon: args.adam_epsilon,
    weightDecay: args.weight_decay,
    momentum,
    dampening: Number(extra.dampening ?? 0),
    nesterov,
  };
}

export interface LabelOptions {
  /** Default: text-classification. */
  task?: Task;
  problemType: ProblemType;
  numLabels: number;
  /** Label names by id, when the labels have names. */
  names?: string[];
  /** Fill-mask: the tokenizer's mask token, whose positions predictions fill. */
  maskTokenId?: number;
  /** Files saved beside every model (the tokenizer). */
  files?: Record<string, string>;
  /** The model folder's config.json, whose other keys (architectures, model_type…) every saved config.json keeps. */
  baseConfig?: Record<string, unknown>;
  /** Explicit weights, or "balanced" (computed from the training labels). */
  classWeights?: number[] | 'balanced';
}

/** scikit-learn's "balanced" weights: n_samples / (n_classes · count of each class). */
export function balancedWeights(dataset: Dataset, numLabels: number): number[] {
  const counts = new Array(numLabels).fill(0);
  for (const id of dataset.classIds ?? []) if (id >= 0) counts[id]++;
  const missing = counts.findIndex((c) => c === 0);
  if (missing >= 0) throw new UserError(`${dataset.file}: class ${missing} never occurs, so "balanced" class weights are undefined`);
  return counts.map((c) => dataset.size / (numLabels * c));
}

export function lossOptions(labels: LabelOptions, args: TrainingArguments, train?: Dataset): LossHeadOptions {
  let classWeights: number[] | undefined;
  if (labels.classWeights === 'balanced') {
    if (!train) throw new UserError('class_weights: "balanced" needs training data to count the classes');
    classWeights = balancedWeights(train, labels.numLabels);
  } else classWeights = labels.classWeights;
  return {
    task: labels.task,
    problemType: labels.problemType,
    numLabels: labels.numLabels,
    classWeights,
    labelSmoothing: labels.problemType === 'single_label_classification' && (labels.task ?? 'text-classification') === 'text-classification' ? args.label_smoothing_factor : 0,
  };
}

/** Whether an error is onnxruntime (or the process) running out of memory. */
export function isOutOfMemory(e: unknown): boolean {
  return /failed to allocate|out of memory|bad_alloc|bad allocation|cannot allocate/i.test((e as Error)?.message ?? '');
}

/** Parameters without embedding tables (num_parameters(exclude_embeddings=True) in Hugging Face). */
export function countFlopParameters(prepared: PreparedModel): number {
  const tables = new Set(prepared.graph.nodes.filter((n) => n.op === 'Gather').map((n) => n.inputs[0]));
  return prepared.params.filter((p) => !tables.has(p.name)).reduce((n, p) => n + p.dims.reduce((a, d) => a * d, 1), 0);
}

/** Single-label classification with as many classes as the logits output's (static) last dim. */
export function defaultLabels(prepared: PreparedModel): LabelOptions {
  const shape = prepared.graph.outputs.find((o) => o.name === prepared.logits)?.shape;
  const n = shape?.[shape.length - 1];
  if (typeof n !== 'number') throw new UserError(`cannot tell the number of classes from output "${prepared.logits}"; pass labels: { problemType, numLabels }`);
  return n === 1 ? { problemType: 'regression', numLabels: 1 } : { problemType: 'single_label_classification', numLabels: n };
}
