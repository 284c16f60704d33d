// Step and epoch arithmetic of a training run, exactly as Hugging Face computes it
// (reference §2.1): micro-batches per epoch L, updates per epoch, total steps T, the epoch
// loop count, and the logging/eval/save intervals with ratios resolved against T.

import type { TrainingArguments } from '../config/trainingArguments';
import { warmupSteps } from './schedules';

export interface TrainPlan {
  /** Micro-batches per epoch (L). */
  microBatchesPerEpoch: number;
  /** Optimizer steps per epoch, the last window possibly partial. */
  updatesPerEpoch: number;
  /** Total optimizer steps (T). */
  maxSteps: number;
  /** Number of epoch iterations. */
  epochs: number;
  numTrainSamples: number;
  loggingSteps: number;
  evalSteps: number;
  saveSteps: number;
  warmupSteps: number;
}

function resolveInterval(v: number | null, total: number, fallback: number): number {
  if (v === null || v === undefined) return fallback;
  return v < 1 && v > 0 ? Math.ceil(total * v) : Math.floor(v);
}

export function planTraining(numSamples: number, args: TrainingArguments, batchSize = args.per_device_train_batch_size): TrainPlan {
  const ga = args.gradient_accumulation_steps;
  const L = args.dataloader_drop_last ? Math.floor(numSamples / batchSize) : Math.ceil(numSamples / batchSize);
  const updatesPerEpoch = Math.max(Math.ceil(L / ga), 1);
  let maxSteps: number;
  let epochs: number;
  let numTrainSamples: number;
  if (args.max_steps > 0) {
    maxSteps = args.max_steps;
    epochs = Math.ceil(maxSteps / updatesPerEpoch);
    numTrainSamples = maxSteps * batchSize * ga;
  } else {
    maxSteps = Math.ceil(args.num_train_epochs * updatesPerEpoch);
    epochs = Math.ceil(args.num_train_epochs);
    numTrainSamples = numSamples * args.num_train_epochs;
  }
  const loggingSteps = resolveInterval(args.logging_steps, maxSteps, 500);
  return {
    microBatchesPerEpoch: L,
    updatesPerEpoch,
    maxSteps,
    epochs,
    numTrainSamples,
    loggingSteps,
    evalSteps: resolveInterval(args.eval_steps, maxSteps, loggingSteps),
    saveSteps: resolveInterval(args.save_steps, maxSteps, 500),
    warmupSteps: warmupSteps(args, maxSteps),
  };
}
