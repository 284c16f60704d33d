// The engine as a library: `new Trainer({ model, args, trainDataset, evalDataset, computeMetrics,
// callbacks })` with train(), evaluate() and predict(), and the pieces to build its inputs.
// Everything here is free of VS Code; the CLI (cli.ts) is one user of it.

export { Trainer, isOutOfMemory } from './loop/trainer';
export type { TrainerOptions, TrainOutput, PredictionOutput } from './loop/trainer';
export { trainingArguments } from './config/trainingArguments';
export type { TrainingArguments } from './config/trainingArguments';
export { loadConfig } from './config/config';
export type { TrainerConfig } from './config/config';
export { prepareJob } from './job';
export { loadModel, saveModel } from './onnx/model';
export { downloadHubModel } from './hub/snapshot';
export { parseHubReference } from './hub/reference';
export type { HubReference } from './hub/reference';
export type { Model } from './onnx/model';
export { openSource } from './data/source';
export { readAllRecords } from './data/readers';
export { buildDataset } from './data/dataset';
export type { Dataset, Example, LabelSpec } from './data/dataset';
export { buildBuiltin } from './models';
export { insertAdapters, mergeAdapters, adapterTensorNames } from './programs/lora';
export type { LoraConfig, LoraModel } from './programs/lora';
export { readAdapterWeights, writeAdapterFiles } from './programs/peftFiles';
export { loadTokenizer, trainWordPiece } from './text';
export { EVENTS, defaultFlowCallback } from './loop/callbacks';
export type { TrainerCallback, CallbackHandler } from './loop/callbacks';
export { TrainerState, TrainerControl } from './loop/state';
export { builtinMetrics } from './loop/metrics';
export type { EvalPrediction, Metrics } from './loop/metrics';
export { earlyStoppingCallback } from './loop/earlyStopping';
export { tensorboardCallback } from './logging/tensorboard';
export { TASKS, taskOfArchitectures } from './programs/tasks';
export type { Task } from './programs/tasks';
