// Learning-rate schedules: Hugging Face's λ(t) formulas (reference §3.3), where the k-th
// optimizer step uses lr0 · λ(k − 1). Warmup resolves as in TrainingArguments (§1).

import type { SchedulerType, TrainingArguments } from '../config/trainingArguments';

export interface ScheduleSpec {
  type: SchedulerType;
  /** Total optimizer steps T. */
  total: number;
  /** Warmup steps W. */
  warmup: number;
  lr0: number;
  kwargs: Record<string, unknown>;
}

/** W from warmup_steps (≥ 1: steps; in (0, 1): a ratio of T, rounded up) or warmup_ratio. */
export function warmupSteps(args: Pick<TrainingArguments, 'warmup_steps' | 'warmup_ratio'>, total: number): number {
  if (args.warmup_steps >= 1) return Math.floor(args.warmup_steps);
  if (args.warmup_steps > 0) return Math.ceil(total * args.warmup_steps);
  return Math.ceil(total * args.warmup_ratio);
}

function num(kwargs: Record<string, unknown>, key: string, fallback: number): number {
  const v = kwargs[key];
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : fallback;
}

export class ScheduleError extends Error {}

/** Checks the kwargs a schedule requires, so that a bad config fails before training. */
export function validateSchedule(s: ScheduleSpec): void {
  if (s.type === 'cosine_with_min_lr') {
    const has = (k: string) => s.kwargs[k] !== undefined;
    if (has('min_lr') === has('min_lr_rate')) throw new ScheduleError('cosine_with_min_lr needs exactly one of min_lr or min_lr_rate in lr_scheduler_kwargs');
  }
  if (s.type === 'polynomial' && !(s.lr0 > num(s.kwargs, 'lr_end', 1e-7))) {
    throw new ScheduleError(`polynomial needs learning_rate (${s.lr0}) greater than lr_end (${num(s.kwargs, 'lr_end', 1e-7)})`);
  }
}

/** The multiplier λ(t) of the initial learning rate at scheduler step t (0-based). */
export function lrLambda(s: ScheduleSpec, t: number): number {
  const { total: T, warmup: W, kwargs } = s;
  const warming = t < W;
  const warm = t / Math.max(1, W);
  const progress = (t - W) / Math.max(1, T - W);
  switch (s.type) {
    case 'constant':
    case 'reduce_lr_on_plateau':
      return 1;
    case 'constant_with_warmup':
      return warming ? t / Math.max(1.0, W) : 1;
    case 'linear':
      return warming ? warm : Math.max(0, (T - t) / Math.max(1, T - W));
    case 'cosine': {
      if (warming) return warm;
      const cycles = num(kwargs, 'num_cycles', 0.5);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * cycles * progress)));
    }
    case 'cosine_with_restarts': {
      if (warming) return warm;
      if (progress >= 1) return 0;
      const cycles = num(kwargs, 'num_cycles', 1);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((cycles * progress) % 1))));
    }
    case 'polynomial': {
      if (warming) return warm;
      const lrEnd = num(kwargs, 'lr_end', 1e-7);
      const power = num(kwargs, 'power', 1);
      if (t > T) return lrEnd / s.lr0;
      const remaining = 1 - (t - W) / (T - W);
      return ((s.lr0 - lrEnd) * remaining ** power + lrEnd) / s.lr0;
    }
    case 'inverse_sqrt': {
      if (warming) return warm;
      const timescale = num(kwargs, 'timescale', W || 10000);
      return 1 / Math.sqrt((t + timescale - W) / timescale);
    }
    case 'cosine_with_min_lr': {
      if (warming) return warm;
      const rate = kwargs.min_lr !== undefined ? num(kwargs, 'min_lr', 0) / s.lr0 : num(kwargs, 'min_lr_rate', 0);
      const cycles = num(kwargs, 'num_cycles', 0.5);
      const f = 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress));
      return Math.max(0, f * (1 - rate) + rate);
    }
  }
}

export interface PlateauState {
  lr: number;
  best: number;
  num_bad_epochs: number;
  cooldown_counter: number;
  last_epoch: number;
}

/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau: stepped after each in-training evaluation with the
 * metric_for_best_model value; no warmup. Defaults are torch's (mode min, factor 0.1, patience
 * 10, threshold 1e-4 relative, cooldown 0, min_lr 0, eps 1e-8); lr_scheduler_kwargs override them.
 */
export class PlateauScheduler {
  private readonly mode: 'min' | 'max';
  private readonly factor: number;
  private readonly patience: number;
  private readonly threshold: number;
  private readonly thresholdMode: 'rel' | 'abs';
  private readonly cooldown: number;
  private readonly minLr: number;
  private readonly eps: number;
  state: PlateauState;

  constructor(lr0: number, kwargs: Record<string, unknown>) {
    const n = (k: string, d: number) => num(kwargs, k, d);
    this.mode = kwargs.mode === 'max' ? 'max' : 'min';
    this.factor = n('factor', 0.1);
    this.patience = n('patience', 10);
    this.threshold = n('threshold', 1e-4);
    this.thresholdMode = kwargs.threshold_mode === 'abs' ? 'abs' : 'rel';
    this.cooldown = n('cooldown', 0);
    this.minLr = n('min_lr', 0);
    this.eps = n('eps', 1e-8);
    if (!(this.factor < 1)) throw new ScheduleError('reduce_lr_on_plateau: factor must be below 1');
    this.state = { lr: lr0, best: this.mode === 'min' ? Infinity : -Infinity, num_bad_epochs: 0, cooldown_counter: 0, last_epoch: 0 };
  }

  private isBetter(a: number, best: number): boolean {
    if (this.thresholdMode === 'rel') return this.mode === 'min' ? a < best * (1 - this.threshold) : a > best * (this.threshold + 1);
    return this.mode === 'min' ? a < best - this.threshold : a > best + this.threshold;
  }

  step(metric: number): void {
    const s = this.state;
    s.last_epoch += 1;
    if (this.isBetter(metric, s.best)) {
      s.best = metric;
      s.num_bad_epochs = 0;
    } else s.num_bad_epochs += 1;
    if (s.cooldown_counter > 0) {
      s.cooldown_counter -= 1;
      s.num_bad_epochs = 0;
    }
    if (s.num_bad_epochs > this.patience) {
      const next = Math.max(s.lr * this.factor, this.minLr);
      if (s.lr - next > this.eps) s.lr = next;
      s.cooldown_counter = this.cooldown;
      s.num_bad_epochs = 0;
    }
  }
}
