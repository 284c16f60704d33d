// Callbacks with Hugging Face's event names. Each handler sees the arguments, the state and the
// control object, and may return a new control. DefaultFlowCallback decides when to log,
// evaluate and save (reference §9.2); it always runs first, as in Hugging Face.

import type { TrainingArguments } from '../config/trainingArguments';
import { LogEntry, TrainerControl, TrainerState } from './state';

export const EVENTS = [
  'on_init_end', 'on_train_begin', 'on_epoch_begin', 'on_step_begin', 'on_substep_end', 'on_pre_optimizer_step',
  'on_optimizer_step', 'on_step_end', 'on_evaluate', 'on_predict', 'on_save', 'on_log', 'on_epoch_end', 'on_train_end',
  'on_prediction_step',
] as const;
export type TrainerEvent = (typeof EVENTS)[number];

export interface CallbackExtras {
  logs?: LogEntry;
  metrics?: Record<string, number>;
  [key: string]: unknown;
}

export type CallbackHandler = (args: TrainingArguments, state: TrainerState, control: TrainerControl, extras: CallbackExtras) =>
  TrainerControl | void | Promise<TrainerControl | void>;

export type TrainerCallback = Partial<Record<TrainerEvent, CallbackHandler>> & {
  name?: string;
  /** State written to trainer_state.json's stateful_callbacks at each checkpoint (keyed by name). */
  stateful?: () => { args: Record<string, unknown>; attributes: Record<string, unknown> };
};

/** Hugging Face's DefaultFlowCallback: the log / evaluate / save / stop decisions. */
export function defaultFlowCallback(): TrainerCallback {
  return {
    name: 'DefaultFlowCallback',
    on_step_end: (args, state, control) => {
      const step = state.global_step;
      if (step === 1 && args.logging_first_step) control.should_log = true;
      if (args.logging_strategy === 'steps' && state.logging_steps > 0 && step % state.logging_steps === 0) control.should_log = true;
      if (args.eval_strategy === 'steps' && state.eval_steps > 0 && step % state.eval_steps === 0 && args.eval_delay <= step) control.should_evaluate = true;
      if (args.save_strategy === 'steps' && state.save_steps > 0 && step % state.save_steps === 0) control.should_save = true;
      if (step >= state.max_steps) {
        control.should_training_stop = true;
        if (args.save_strategy === 'steps') control.should_save = true;
        // Hugging Face ≥ 5.x: a final evaluation when the last step is off the eval grid.
        if (args.eval_strategy === 'steps' && args.eval_delay <= step && state.eval_steps > 0 && step % state.eval_steps !== 0) control.should_evaluate = true;
      }
      return control;
    },
    on_epoch_end: (args, state, control) => {
      if (args.logging_strategy === 'epoch') control.should_log = true;
      if (args.eval_strategy === 'epoch' && args.eval_delay <= state.epoch) control.should_evaluate = true;
      if (args.save_strategy === 'epoch') control.should_save = true;
      return control;
    },
  };
}

/** Calls every callback's handler for an event, in list order; a returned control replaces it. */
export class CallbackList {
  constructor(readonly callbacks: TrainerCallback[]) {}

  async fire(event: TrainerEvent, args: TrainingArguments, state: TrainerState, control: TrainerControl, extras: CallbackExtras = {}): Promise<TrainerControl> {
    for (const cb of this.callbacks) {
      const handler = cb[event];
      if (!handler) continue;
      const result = await handler(args, state, control, extras);
      if (result) control = result;
    }
    return control;
  }
}

/** A request to stop training from outside the loop (a signal, the extension). */
export interface StopRequest {
  requested: boolean;
  /** Save a checkpoint before stopping. */
  save: boolean;
  /** The signal that asked (the exit code says which); none for the extension's stop message. */
  signal?: 'SIGINT' | 'SIGTERM';
}

/** Ends training at the next step end once `request` is set, saving a checkpoint if asked. */
export function stopCallback(request: StopRequest): TrainerCallback {
  return {
    name: 'StopCallback',
    on_step_end: (_args, _state, control) => {
      if (!request.requested) return;
      control.should_training_stop = true;
      control.should_save = request.save;
      return control;
    },
  };
}
