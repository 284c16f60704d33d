// TrainingArguments: Hugging Face's names, defaults and validation rules (see
// shared/reference/hf-trainer-semantics.md §1), declared once as a field table.

import { ConfigDocument } from './document';
import { Section, SectionValues, t, validateSection } from './fields';

const strategy = t.enumOf('no', 'steps', 'epoch');
const stepsOrRatio = t.number(0);

export const SCHEDULERS = ['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup',
  'inverse_sqrt', 'cosine_with_min_lr', 'reduce_lr_on_plateau'] as const;
export type SchedulerType = (typeof SCHEDULERS)[number];

export const OPTIMIZERS = ['adamw_torch', 'adamw_torch_fused', 'adam', 'sgd'] as const;

export const TRAINING_FIELDS = {
  output_dir: { type: t.string, default: 'trainer_output', doc: 'Where checkpoints, logs and the final model are written (relative to the config file).' },
  overwrite_output_dir: { type: t.boolean, default: false, doc: 'Start a new run in an output_dir that holds an earlier one, deleting its checkpoints (otherwise that is refused; resume it instead).' },
  num_train_epochs: { type: t.number(0), default: 3, doc: 'Total training epochs; fractions stop mid-epoch. Ignored when max_steps > 0.' },
  max_steps: { type: t.integer(-1), default: -1, doc: 'If > 0: total optimizer steps, overriding num_train_epochs.' },
  per_device_train_batch_size: { type: t.integer(1), default: 8, doc: 'Samples per micro-batch for training.' },
  per_device_eval_batch_size: { type: t.integer(1), default: 8, doc: 'Samples per batch for evaluation and prediction.' },
  gradient_accumulation_steps: { type: t.integer(1), default: 1, doc: 'Micro-batches whose gradients are summed before each optimizer step.' },
  learning_rate: { type: t.number(0), default: 5e-5, doc: 'Initial (peak) learning rate.' },
  weight_decay: { type: t.number(0), default: 0, doc: 'Weight decay; applies to parameters of rank ≥ 2 only (never biases or normalization scales).' },
  adam_beta1: { type: t.number(0, 1), default: 0.9, doc: 'Adam beta1.' },
  adam_beta2: { type: t.number(0, 1), default: 0.999, doc: 'Adam beta2.' },
  adam_epsilon: { type: t.number(0), default: 1e-8, doc: 'Adam epsilon.' },
  optim: { type: t.enumOf(...OPTIMIZERS), default: 'adamw_torch', doc: 'Optimizer: adamw_torch (AdamW, decoupled weight decay), adam (L2 weight decay), sgd.' },
  optim_args: { type: t.nullable(t.string), default: null, doc: 'Extra optimizer options as "key=value,…", e.g. "momentum=0.9,nesterov=True" for sgd.' },
  max_grad_norm: { type: t.number(0), default: 1, doc: 'Global L2 gradient-norm clipping threshold; 0 disables clipping (the norm is still logged).' },
  lr_scheduler_type: { type: t.enumOf(...SCHEDULERS), default: 'linear', doc: 'Learning-rate schedule.' },
  lr_scheduler_kwargs: { type: t.nullable(t.union(t.object, t.string)), default: null, doc: 'Extra schedule options (num_cycles, power, lr_end, min_lr, min_lr_rate, timescale…), a mapping or a JSON string.' },
  warmup_steps: { type: stepsOrRatio, default: 0, doc: 'Warmup steps; a value below 1 is a ratio of the total steps (rounded up).' },
  warmup_ratio: { type: t.number(0, 1), default: 0, doc: 'Warmup as a ratio of total steps; used when warmup_steps is 0.' },
  eval_strategy: { type: strategy, default: 'no', doc: 'When to evaluate: no, steps (every eval_steps), epoch.', aliases: ['evaluation_strategy'] },
  eval_steps: { type: t.nullable(stepsOrRatio), default: null, doc: 'Evaluate every N steps (ratio if < 1); defaults to logging_steps.' },
  eval_delay: { type: t.number(0), default: 0, doc: 'Steps (or epochs, with the epoch strategy) to wait before the first evaluation.' },
  eval_on_start: { type: t.boolean, default: false, doc: 'Evaluate once before the first step (a sanity check).' },
  save_strategy: { type: t.enumOf('no', 'steps', 'epoch', 'best'), default: 'steps', doc: 'When to save a checkpoint: no, steps, epoch, best (on each new best metric).' },
  save_steps: { type: stepsOrRatio, default: 500, doc: 'Save every N steps (ratio if < 1).' },
  save_total_limit: { type: t.nullable(t.integer()), default: null, doc: 'Keep at most N checkpoints (the best one is never deleted).' },
  save_only_model: { type: t.boolean, default: false, doc: 'Save only the model in checkpoints (no optimizer, scheduler or random state; cannot resume).' },
  logging_strategy: { type: strategy, default: 'steps', doc: 'When to log training loss: no, steps, epoch.' },
  logging_steps: { type: stepsOrRatio, default: 500, doc: 'Log every N steps (ratio if < 1).' },
  logging_first_step: { type: t.boolean, default: false, doc: 'Also log the first step.' },
  logging_dir: { type: t.nullable(t.string), default: null, doc: 'TensorBoard log folder; default output_dir/runs/<date>_<host>.' },
  logging_nan_inf_filter: { type: t.boolean, default: true, doc: 'Leave non-finite losses out of the logged average.' },
  report_to: { type: t.union(t.enumOf('all', 'none', 'tensorboard'), t.array(t.enumOf('tensorboard'))), default: 'all', doc: 'Integrations to report to: tensorboard (the only one; "all" means it), or none.' },
  load_best_model_at_end: { type: t.boolean, default: false, doc: 'Load the best checkpoint (by metric_for_best_model) at the end and save it as the final model.' },
  metric_for_best_model: { type: t.nullable(t.string), default: null, doc: 'Metric that decides the best checkpoint, e.g. accuracy or loss ("eval_" is implied).' },
  greater_is_better: { type: t.nullable(t.boolean), default: null, doc: 'Whether a larger metric is better; default: false for metrics ending in "loss".' },
  seed: { type: t.integer(), default: 42, doc: 'Seed for initialization, dropout masks and data order.' },
  data_seed: { type: t.nullable(t.integer()), default: null, doc: 'Seed for the data order only; default: seed.' },
  dataloader_drop_last: { type: t.boolean, default: false, doc: 'Drop the last incomplete batch (training and evaluation).' },
  label_smoothing_factor: { type: t.number(0, 1), default: 0, doc: 'Label smoothing for cross-entropy (0 = none).' },
  resume_from_checkpoint: { type: t.nullable(t.union(t.string, t.boolean)), default: null, doc: 'Resume from this checkpoint folder, or true for the latest one in output_dir.' },
  ignore_data_skip: { type: t.boolean, default: false, doc: 'On resume, start the interrupted epoch from its first batch instead of skipping what was seen.' },
  fp16: { type: t.boolean, default: false, doc: 'Mixed precision with float16: forward and backward in float16, parameters and optimizer state in float32, a dynamic loss scale (GradScaler) that skips steps whose gradients overflow. onnxruntime\'s CPU provider runs most float16 operators in float32, so it pays off on CUDA.' },
  bf16: { type: t.boolean, default: false, doc: 'Mixed precision with bfloat16 (no loss scale). Needs the CUDA execution provider: the CPU provider has no bfloat16 kernels.' },
  gradient_checkpointing: { type: t.boolean, default: false, doc: 'Recompute activations in the backward pass instead of keeping them (less memory, more compute).' },
  auto_find_batch_size: { type: t.boolean, default: false, doc: 'On out-of-memory, retry with a smaller train batch size (×0.9).' },
  disable_tqdm: { type: t.boolean, default: false, doc: 'Print log lines instead of a progress bar.' },
  nan_policy: { type: t.enumOf('stop', 'skip_step'), default: 'stop', doc: 'A step whose loss or gradient norm is NaN or infinite (float32): stop the run naming the step (nothing poisoned is written), or skip_step — leave the weights unchanged, as fp16 does with an overflow, and go on.' },
} satisfies Section;

/**
 * TrainingArguments as the run reads them: the table's types (TRAINING_FIELDS), with the two
 * fields parseTrainingArguments normalizes — report_to becomes a list, lr_scheduler_kwargs a
 * mapping.
 */
export type TrainingArguments = Omit<SectionValues<typeof TRAINING_FIELDS>, 'report_to' | 'lr_scheduler_kwargs'> & {
  report_to: string[];
  lr_scheduler_kwargs: Record<string, unknown>;
};

/** Validates the `training:` section and applies Hugging Face's derived defaults and rules (§1.2). */
export function parseTrainingArguments(doc: ConfigDocument, value: unknown): TrainingArguments {
  const at = ['training'];
  const v = validateSection(doc, at, value, TRAINING_FIELDS);
  const err = (key: string, msg: string) => doc.error([...at, key], msg);

  for (const key of ['logging_steps', 'eval_steps', 'save_steps', 'warmup_steps'] as const) {
    const x = v[key];
    if (typeof x === 'number' && x > 1 && !Number.isInteger(x)) throw err(key, `expected a whole number of steps or a ratio below 1, got ${x}`);
  }
  // Settings that would train nothing, or never save, are mistakes rather than requests.
  if (typeof v.output_dir === 'string' && v.output_dir.trim() === '') throw err('output_dir', 'must not be empty (it would be the config file\'s folder)');
  if (v.max_steps === 0) throw err('max_steps', 'is 0, which trains nothing; expected a number of steps > 0, or -1 to train num_train_epochs epochs');
  if (v.max_steps < 0 && v.num_train_epochs === 0) throw err('num_train_epochs', 'is 0, which trains nothing; expected a number of epochs > 0 (or set max_steps)');
  if (v.save_strategy === 'steps' && v.save_steps === 0) throw err('save_steps', 'is 0 with save_strategy: steps, which never saves; expected a number of steps > 0 (or save_strategy: no)');
  if (v.logging_strategy === 'steps' && v.logging_steps === 0) throw err('logging_steps', 'must be > 0 with logging_strategy: steps');
  if (v.eval_strategy === 'steps' && (v.eval_steps === null || v.eval_steps === 0)) {
    if (v.logging_steps === 0) throw err('eval_steps', 'must be set (> 0) with eval_strategy: steps');
    v.eval_steps = v.logging_steps;
  }
  let kwargs: unknown = v.lr_scheduler_kwargs;
  if (typeof kwargs === 'string') {
    try {
      kwargs = JSON.parse(kwargs);
    } catch {
      throw err('lr_scheduler_kwargs', 'is a string but not valid JSON');
    }
  }
  if (kwargs !== null && (typeof kwargs !== 'object' || Array.isArray(kwargs))) throw err('lr_scheduler_kwargs', 'expected a mapping of schedule options (or a JSON string of one)');
  const lrSchedulerKwargs: Record<string, unknown> = (kwargs as Record<string, unknown> | null) ?? {};
  if (v.load_best_model_at_end || v.lr_scheduler_type === 'reduce_lr_on_plateau') {
    if (v.metric_for_best_model === null) v.metric_for_best_model = 'loss';
  }
  if (v.metric_for_best_model !== null && v.greater_is_better === null) {
    v.greater_is_better = !String(v.metric_for_best_model).endsWith('loss');
  }
  if (v.load_best_model_at_end && v.save_strategy !== 'best') {
    if (v.eval_strategy !== v.save_strategy) {
      throw err('load_best_model_at_end', `needs eval_strategy and save_strategy to match, but eval_strategy is "${v.eval_strategy}" and save_strategy is "${v.save_strategy}"`);
    }
    if (v.eval_strategy === 'steps') {
      const es = v.eval_steps ?? v.logging_steps;
      const ss = v.save_steps;
      const bothRatios = es < 1 && ss < 1;
      const ok = bothRatios ? Math.round(ss * 1e6) % Math.round(es * 1e6) === 0 : es >= 1 && ss >= 1 && ss % es === 0;
      if (!ok) throw err('save_steps', `must be a multiple of eval_steps (${es}) with load_best_model_at_end, got ${ss}`);
    }
  }
  if (v.save_strategy === 'best' && v.metric_for_best_model === null) throw err('save_strategy', 'save_strategy: best needs metric_for_best_model');
  if (v.lr_scheduler_type === 'reduce_lr_on_plateau' && v.eval_strategy === 'no') throw err('lr_scheduler_type', 'reduce_lr_on_plateau needs an eval_strategy other than "no"');
  if (v.fp16 && v.bf16) throw err('bf16', 'fp16 and bf16 cannot both be true');
  const r = v.report_to;
  const reportTo: string[] = r === 'none' ? [] : r === 'all' ? ['tensorboard'] : typeof r === 'string' ? [r] : r;
  return { ...v, report_to: reportTo, lr_scheduler_kwargs: lrSchedulerKwargs };
}

/**
 * TrainingArguments for library use: Hugging Face's defaults and rules applied to `values`
 * (bad values throw a ConfigError naming the key). Paths stay as given.
 */
export function trainingArguments(values: Record<string, unknown> = {}): TrainingArguments {
  return parseTrainingArguments(ConfigDocument.parse('TrainingArguments', '{}'), values);
}
