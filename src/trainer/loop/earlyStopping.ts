// Hugging Face's EarlyStoppingCallback (reference §9.3): after each evaluation, the metric is
// compared with the best one *before* this evaluation; no improvement beyond the threshold for
// `patience` evaluations in a row stops training. Its counter travels in checkpoints.

import type { TrainerCallback } from './callbacks';

export interface EarlyStoppingOptions {
  patience: number;
  threshold: number;
}

export const EARLY_STOPPING = 'EarlyStoppingCallback';

export function earlyStoppingCallback(opts: EarlyStoppingOptions): TrainerCallback & { counter: () => number } {
  let counter = 0;
  return {
    name: EARLY_STOPPING,
    counter: () => counter,
    on_train_begin: (_args, state) => {
      const saved = state.stateful_callbacks?.[EARLY_STOPPING] as { attributes?: { early_stopping_patience_counter?: number } } | undefined;
      counter = saved?.attributes?.early_stopping_patience_counter ?? 0;
    },
    on_evaluate: (args, state, control, extras) => {
      const name = args.metric_for_best_model!;
      const key = name.startsWith('eval_') ? name : `eval_${name}`;
      const value = extras.metrics?.[key];
      if (value === undefined) return;
      const best = state.best_metric;
      const improved = best === null || ((args.greater_is_better ? value > best : value < best) && Math.abs(value - best) > opts.threshold);
      counter = improved ? 0 : counter + 1;
      if (counter >= opts.patience) control.should_training_stop = true;
      return control;
    },
    stateful: () => ({
      args: { early_stopping_patience: opts.patience, early_stopping_threshold: opts.threshold },
      attributes: { early_stopping_patience_counter: counter },
    }),
  };
}
