// The TrainerState a run starts from, and the summary entry Hugging Face logs at the end of
// train() (train_runtime, samples and steps per second, total_flos, train_loss).

import type { ResumeState } from './checkpoints';
import { round } from './evaluation';
import type { TrainPlan } from './plan';
import { TrainerState } from './state';

/** A new run's state: the plan's step counts and the batch size. */
export function freshTrainerState(plan: TrainPlan, batchSize: number): TrainerState {
  const s = new TrainerState();
  s.max_steps = plan.maxSteps;
  s.num_train_epochs = plan.epochs;
  s.logging_steps = plan.loggingSteps;
  s.eval_steps = plan.evalSteps;
  s.save_steps = plan.saveSteps;
  s.train_batch_size = batchSize;
  return s;
}

/** The end-of-training log entry, rounded as Hugging Face rounds it. */
export function trainSummary(seconds: number, plan: TrainPlan, state: TrainerState, book: ResumeState) {
  // The loss sums travel in checkpoints, so unlike Hugging Face (issue #12942) a resumed run
  // reports the same train_loss as one that never stopped.
  const trainLoss = (book.totalLoss + book.lossSinceLog) / Math.max(state.global_step, 0.001);
  return {
    train_runtime: round(seconds, 4),
    train_samples_per_second: round(plan.numTrainSamples / seconds, 3),
    train_steps_per_second: round(plan.maxSteps / seconds, 3),
    total_flos: state.total_flos,
    train_loss: trainLoss,
  };
}
