// From a config file to a ready Trainer: loads the model and the data, and checks everything
// that can be checked before a single file is written (data shapes against the graph, labels,
// metric names, strategies, that every operator on the gradient path has a rule).

import * as fs from 'node:fs';
import { TrainerConfig } from './config/config';
import { Dataset, buildDataset } from './data/dataset';
import { readAllRecords } from './data/readers';
import { TrainerCallback } from './loop/callbacks';
import { builtinMetricNames } from './loop/metrics';
import { lossOptions, optimizerFromArgs } from './loop/setup';
import { Trainer } from './loop/trainer';
import { Model, loadModel } from './onnx/model';
import { PreparedModel, prepareModel } from './programs/prepare';
import { resolveDevice } from './programs/session';
import { compileTrainStep } from './programs/trainStep';

export type JobKind = 'train' | 'evaluate' | 'predict' | 'export';

export interface Job {
  config: TrainerConfig;
  model: Model;
  prepared: PreparedModel;
  train?: Dataset;
  eval?: Dataset;
  test?: Dataset;
  trainer: Trainer;
}

async function dataset(config: TrainerConfig, key: 'train' | 'eval' | 'test', prepared: PreparedModel, requireLabels: boolean): Promise<Dataset | undefined> {
  const file = config.data[key];
  if (!file) return undefined;
  if (!fs.existsSync(file)) throw config.doc.error(['data', key], `file not found: ${file}`);
  const records = await readAllRecords(file);
  return buildDataset(file, records, prepared.inputs, { problemType: config.model.problem_type, numLabels: config.model.num_labels }, requireLabels);
}

/** The built-in metric names this config's evaluations report (without the "eval_" prefix). */
export function reportedMetrics(config: TrainerConfig): string[] {
  return ['loss', ...builtinMetricNames(config.model.problem_type, config.model.num_labels)];
}

export async function prepareJob(config: TrainerConfig, kind: JobKind, callbacks: TrainerCallback[] = []): Promise<Job> {
  const { doc, training: args } = config;
  if (!fs.existsSync(config.model.path)) throw doc.error(['model', 'path'], `model file not found: ${config.model.path}`);
  const model = loadModel(config.model.path);
  const prepared = prepareModel(model, { output: config.model.output, freeze: config.model.freeze });
  for (const f of config.model.freeze) {
    if (!model.graph.initializers.has(f)) throw doc.error(['model', 'freeze'], `"${f}" is not an initializer of ${config.model.path}`);
  }
  if (prepared.params.length === 0) throw doc.error(['model', 'path'], `${config.model.path} has no trainable parameters (float initializers the output depends on)`);
  resolveDevice(config.device);

  if (kind === 'train' && !config.data.train) throw doc.error(['data'], 'training needs data.train');
  const needsEval = kind === 'evaluate' || (kind === 'train' && args.eval_strategy !== 'no');
  if (needsEval && !config.data.eval) {
    throw kind === 'train' ? doc.error(['training', 'eval_strategy'], `is "${args.eval_strategy}" but there is no evaluation data (data.eval)`) : doc.error(['data'], 'evaluate needs data.eval');
  }
  if (kind === 'predict' && !config.data.test && !config.data.eval) throw doc.error(['data'], 'predict needs data.test (or data.eval)');
  const metric = args.metric_for_best_model;
  if (metric && kind === 'train') {
    const name = metric.replace(/^eval_/, '');
    const known = reportedMetrics(config);
    if (!known.includes(name)) throw doc.error(['training', 'metric_for_best_model'], `"${metric}" is never computed; evaluations report ${known.join(', ')}`);
  }

  const train = kind === 'train' ? await dataset(config, 'train', prepared, true) : undefined;
  const evalSet = kind === 'predict' || kind === 'export' ? undefined : await dataset(config, 'eval', prepared, true);
  const test = kind === 'predict' ? (await dataset(config, 'test', prepared, false)) ?? (await dataset(config, 'eval', prepared, false)) : undefined;
  const labels = { problemType: config.model.problem_type, numLabels: config.model.num_labels, classWeights: config.model.class_weights };

  if (kind === 'train') {
    // Compile once now: an operator without a gradient rule is a model problem, reported
    // before anything is written.
    const loss = lossOptions(labels, args, train);
    const optimizer = optimizerFromArgs(args);
    compileTrainStep(prepared, loss, optimizer, 'step');
    if (args.fp16 || args.bf16) {
      const key = args.fp16 ? 'fp16' : 'bf16';
      const device = resolveDevice(config.device);
      throw doc.error(['training', key], device === 'cpu'
        ? `${key} mixed precision needs the CUDA execution provider; this run uses the CPU`
        : `${key} mixed precision is not implemented yet; train in float32 (remove ${key})`);
    }
  }
  const trainer = new Trainer({
    model, args, labels, prepared, trainDataset: train, evalDataset: evalSet, callbacks, device: config.device,
  });
  return { config, model, prepared, train, eval: evalSet, test, trainer };
}
