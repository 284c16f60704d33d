// Runs compiled programs: feeds parameters, optimizer state, per-step scalars and a batch, and
// takes the updated tensors back. The training state lives here as plain tensors in JavaScript
// memory, so checkpoints are a matter of writing them out.

import * as ort from 'onnxruntime-node';
import { DataType, Tensor, cloneTensor, zeros } from '../onnx/tensor';
import { compileEvalStep, EVAL_IO, EvalStepOptions } from './evalStep';
import { LossHeadOptions } from './lossHeads';
import { OptimizerConfig } from './optimizers';
import { OptimizedParam, OptimizerRunner } from './optimizerRunner';
import { PreparedModel } from './prepare';
import { DeviceError, SessionOptions, collectGarbage, createSession, fromOrt, keepFreedMemory, releaseCopies, resolveDevice, scalar, toOrt } from './session';
import { CompileOptions, CompiledTrainStep, IO, TrainStepMode, compileTrainStep } from './trainStep';
import { precisionUnsupported } from './precision';

/** Parameters, batch-norm buffers and optimizer state: everything a step reads and replaces. */
export interface TrainingState {
  params: Map<string, Tensor>;
  buffers: Map<string, Tensor>;
  /** Keyed "slot/param", e.g. "exp_avg/fc1.weight". */
  optimizer: Map<string, Tensor>;
}

export type Batch = Map<string, Tensor>;

export interface StepScalars {
  lr: number;
  /** 1-based optimizer step (updates actually applied: the bias corrections' t). */
  step: number;
  maxGradNorm: number;
  randomKey: number;
  /** fp16: the loss scale (GradScaler). */
  lossScale?: number;
}

/** A zeroed optimizer slot for a parameter (TrainStepRunner.moment places AdamW's where its kernel reads them). */
export type MomentFactory = (slot: string, param: string, type: DataType, dims: number[]) => Tensor;

/** A copy of a parameter's values where the optimizer reads and writes it, or undefined to keep it where it is (TrainStepRunner.place). */
export type ParamPlacer = (param: string, values: Tensor) => Tensor['data'] | undefined;

/**
 * The state a run starts from. Train steps update it in place, as PyTorch's optimizers update a
 * model's parameters: with `adopt`, the state is the model's own initializer tensors (no second
 * copy of the weights; the model object then holds the trained values, as a PyTorch model passed
 * to Hugging Face's Trainer does), otherwise copies of them (so the prepared model can start
 * another run).
 */
export function initialState(prepared: PreparedModel, slots: string[], opts: { adopt?: boolean; moment?: MomentFactory; place?: ParamPlacer } = {}): TrainingState {
  const init = prepared.graph.initializers;
  const take = (name: string) => (opts.adopt ? init.get(name)! : cloneTensor(init.get(name)!));
  let moved = false;
  const placed = (name: string) => {
    const t = take(name);
    // The tensor object stays (adopted, it is the model's own initializer) and its values move.
    const data = opts.place?.(name, t);
    if (data) [t.data, moved] = [data, true];
    return t;
  };
  const params = new Map(prepared.params.map((p) => [p.name, placed(p.name)]));
  if (moved) collectGarbage();
  const buffers = new Map(prepared.buffers.map((n) => [n, take(n)]));
  const optimizer = new Map<string, Tensor>();
  const moment = opts.moment ?? ((_s, _p, type, dims) => zeros(type, dims));
  for (const p of prepared.params) for (const s of slots) optimizer.set(`${s}/${p.name}`, moment(s, p.name, init.get(p.name)!.type, p.dims));
  return { params, buffers, optimizer };
}

/**
 * Fault injection for tests of auto_find_batch_size: with TRAINER_FAULT_OOM_ABOVE_BATCH=N set
 * when the runner is created, a train step on more than N samples fails as onnxruntime does when
 * an allocation fails. Read once here, not in the step path.
 */
function outOfMemoryFault(): ((batch: Batch) => void) | undefined {
  const limit = Number(process.env.TRAINER_FAULT_OOM_ABOVE_BATCH);
  if (!(limit > 0)) return undefined;
  return (batch) => {
    const size = batch.values().next().value?.dims[0] ?? 0;
    if (size > limit) throw new Error(`Failed to allocate memory for requested buffer (fault injected: batch of ${size} > ${limit})`);
  };
}

/** The compiled train-step graphs of a run: "step", or "accumulate" + "final" with gradient accumulation. */
export type TrainPrograms = Map<TrainStepMode, CompiledTrainStep>;

/** Compiles the train-step graphs a run executes (the expensive part of starting one). */
export function compileTrainPrograms(prepared: PreparedModel, loss: LossHeadOptions, accumulation: boolean, opts: CompileOptions = {}): TrainPrograms {
  const modes: TrainStepMode[] = accumulation ? ['accumulate', 'final'] : ['step'];
  return new Map(modes.map((mode) => [mode, compileTrainStep(prepared, loss, mode, { recompute: opts.recompute, recomputeAttention: opts.recomputeAttention, recomputeElementwise: opts.recomputeElementwise, recomputeNormalized: opts.recomputeNormalized, recomputeExpanded: opts.recomputeExpanded, selectedRowsOnly: opts.selectedRowsOnly, paddingRowsOnly: opts.paddingRowsOnly, precision: opts.precision })]));
}

export interface RunnerOptions extends SessionOptions, CompileOptions {
  programs?: TrainPrograms;
  /** false: every update goes to a new tensor (for tests comparing the two). */
  inPlace?: boolean;
  /** Leave parameters and optimizer state unchanged when the gradient norm is not finite (nan_policy: skip_step). */
  skipNonFinite?: boolean;
  /** Elements per optimizer run (OPTIMIZER_CHUNK; smaller in tests). */
  optimizerChunk?: number;
  /** false: AdamW runs as the optimizer program even where its WebAssembly kernel could (kernels/adamw.ts). */
  optimizerKernel?: boolean;
}

/** One micro-batch of a training window. */
export interface MicroBatch {
  batch: Batch;
  /** Its share of the window's loss (1 for a window of one micro-batch). */
  weight: number;
  /** Whether it ends the window: the optimizer step is taken after it. */
  last: boolean;
  scalars: StepScalars;
}

/**
 * A train step's session options: common-subexpression elimination off where the step recomputes
 * forward values (`clones`, recompute.ts; it would merge the recomputing clones back into the
 * forward nodes they copy), and threads that spin between parallel sections where no optimizer
 * program's session alternates with the step (session.ts says what each costs).
 */
export function trainStepSessionOptions(opts: RunnerOptions, optimizer: OptimizerConfig, params: { type: DataType; decay: boolean }[], clones: number): SessionOptions {
  return {
    ...opts,
    disabledOptimizers: clones > 0 ? ['CommonSubexpressionElimination'] : [],
    spinning: !OptimizerRunner.needsPrograms(optimizer, params, opts),
  };
}

export class TrainStepRunner {
  /** The window's gradient sums so far (between the first and the last micro-batch of a window). */
  private sums: Map<string, Tensor> | undefined;
  private readonly fault = outOfMemoryFault();

  private constructor(
    private readonly sessions: Map<TrainStepMode, ort.InferenceSession>,
    /** Per variant: output → the input whose buffer it may be written into (inPlace.ts). */
    private readonly inPlace: Map<TrainStepMode, Map<string, string>>,
    private readonly updates: OptimizerRunner,
    private readonly params: OptimizedParam[],
    private readonly opts: { inPlace: boolean; skipNonFinite: boolean },
  ) {}

  /** Names of the optimizer's per-parameter state tensors. */
  get slots(): string[] {
    return this.updates.slots;
  }

  /**
   * The state's zeroed optimizer slots, for initialState: AdamW's in its kernel's memory, where the
   * kernel updates them without copying them through (with `inPlace: false`, for tests, each step
   * replaces them by new buffers and the kernel's memory holds the first ones to the end).
   */
  readonly moment: MomentFactory = (_slot, param, type, dims) => this.updates.moment(param, type, dims);

  /**
   * For initialState: AdamW's float32 parameters moved into its kernel's memory where they fit
   * there with their moments, so that each step's update reads and writes them where they lie
   * instead of copying them in and out (a checkpoint loaded later is copied into them, see
   * Trainer.resume). Everything else stays where it is.
   */
  readonly place: ParamPlacer = (param, values) => this.updates.place(param, values);

  /**
   * Loads the sessions of `programs` (compiled here when not given): "step", or "accumulate" +
   * "final" with gradient accumulation, and the optimizer's.
   */
  static async create(prepared: PreparedModel, loss: LossHeadOptions, optimizer: OptimizerConfig, accumulation: boolean, opts: RunnerOptions = {}): Promise<TrainStepRunner> {
    const unsupported = precisionUnsupported(opts.precision ?? 'fp32', resolveDevice(opts.device));
    if (unsupported) throw new DeviceError(unsupported);
    keepFreedMemory();
    const programs = opts.programs ?? compileTrainPrograms(prepared, loss, accumulation, opts);
    const init = prepared.graph.initializers;
    const params = prepared.params.map((p) => ({ name: p.name, decay: p.decay, type: init.get(p.name)!.type, dims: [...init.get(p.name)!.dims] }));
    const sessions = new Map<TrainStepMode, ort.InferenceSession>();
    const inPlace = new Map<TrainStepMode, Map<string, string>>();
    for (const [mode, compiled] of programs) {
      inPlace.set(mode, new Map(opts.inPlace === false ? [] : compiled.inPlace.map((p) => [p.output, p.input])));
      sessions.set(mode, await createSession(compiled.graph, trainStepSessionOptions(opts, optimizer, params, compiled.clones)));
    }
    const updates = await OptimizerRunner.create(optimizer, params, opts, opts.optimizerChunk);
    return new TrainStepRunner(sessions, inPlace, updates, params, { inPlace: opts.inPlace !== false, skipNonFinite: opts.skipNonFinite === true });
  }

  /**
   * Runs one variant. Outputs that may be written in place are fetched into their input's own
   * buffer — the state tensor is then updated where it lies, as PyTorch's optimizers do — unless
   * that buffer overlaps another fed tensor's. The other outputs come back as new tensors. The
   * copies onnxruntime-node returns of what it wrote into our buffers are released at once.
   */
  private async run(mode: TrainStepMode, feeds: Record<string, ort.Tensor>): Promise<{ out: ort.InferenceSession.ReturnType; written: Set<string> }> {
    const session = this.sessions.get(mode);
    if (!session) throw new Error(`train-step variant "${mode}" was not compiled`);
    const shared = overlappingFeeds(feeds);
    const fetches: Record<string, ort.Tensor | null> = {};
    const written = new Set<string>();
    for (const name of session.outputNames) {
      const input = this.inPlace.get(mode)!.get(name);
      const feed = input === undefined ? undefined : feeds[input];
      if (feed && !shared.has(input!) && feed.size > 0) {
        fetches[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
        written.add(name);
      } else {
        fetches[name] = null;
      }
    }
    const out = await session.run(feeds, fetches);
    releaseCopies(out, written);
    return { out, written };
  }

  private feeds(state: TrainingState, batch: Batch, randomKey: number): Record<string, ort.Tensor> {
    this.fault?.(batch);
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of batch) f[k] = toOrt(v);
    for (const [k, v] of state.params) f[k] = toOrt(v);
    for (const [k, v] of state.buffers) f[k] = toOrt(v);
    f[IO.randomKey] = new ort.Tensor('uint32', Uint32Array.of(randomKey >>> 0), []);
    return f;
  }

  private takeBuffers(state: TrainingState, out: ort.InferenceSession.ReturnType, written: Set<string>) {
    for (const k of state.buffers.keys()) if (!written.has(IO.next(k))) state.buffers.set(k, fromOrt(out[IO.next(k)]));
  }

  /**
   * One micro-batch, the runner's one entry point: its gradient, weighted by `weight` (its share
   * of the window's loss), is added to the window's sums, which the runner holds; the window's
   * last micro-batch also takes the optimizer step and returns the gradient norm. Without
   * gradient accumulation every micro-batch is a whole window ("step").
   */
  async microBatch(state: TrainingState, m: MicroBatch): Promise<{ loss: number; gradNorm?: number }> {
    if (this.sessions.has('step')) {
      if (!m.last) throw new Error('a window of several micro-batches needs the accumulate and final variants of the train step');
      return this.update('step', state, m.batch, m.scalars);
    }
    if (!m.last) {
      const f = this.feeds(state, m.batch, m.scalars.randomKey);
      f[IO.gradScale] = scalar(m.weight);
      if (m.scalars.lossScale !== undefined) f[IO.lossScale] = scalar(m.scalars.lossScale);
      const sums = this.windowSums(state);
      for (const [p, t] of sums) f[IO.accumulated(p)] = toOrt(t);
      const { out, written } = await this.run('accumulate', f);
      this.takeBuffers(state, out, written);
      for (const p of sums.keys()) if (!written.has(IO.accumulatedNext(p))) sums.set(p, fromOrt(out[IO.accumulatedNext(p)]));
      this.sums = sums;
      return { loss: Number(out[IO.loss].data[0]) };
    }
    const sums = this.windowSums(state);
    this.sums = undefined;
    return this.update('final', state, m.batch, m.scalars, sums, m.weight);
  }

  /** The window's gradient sums so far: zeros at the window's first micro-batch. */
  private windowSums(state: TrainingState): Map<string, Tensor> {
    return this.sums ?? new Map([...state.params].map(([p, t]) => [p, zeros(t.type, t.dims)]));
  }

  private async update(mode: TrainStepMode, state: TrainingState, batch: Batch, s: StepScalars, acc?: Map<string, Tensor>, scale = 1) {
    const f = this.feeds(state, batch, s.randomKey);
    f[IO.maxGradNorm] = scalar(s.maxGradNorm > 0 ? s.maxGradNorm : Infinity);
    if (s.lossScale !== undefined) f[IO.lossScale] = scalar(s.lossScale);
    if (mode === 'final') {
      f[IO.gradScale] = scalar(scale);
      for (const [p, t] of acc!) f[IO.accumulated(p)] = toOrt(t);
    }
    // "final" writes the window's gradients over its sums; "step" leaves them in onnxruntime's
    // arena, where they take the place of activations freed by then, and uses the copies
    // onnxruntime-node returns anyway (a buffer of our own would add the gradients' size to the peak).
    const { out, written } = await this.run(mode, f);
    const grads = new Map<string, Tensor>();
    // A gradient may come in the shape of the node that computed it (trainStep.ts): same bytes.
    for (const { name } of this.params) grads.set(name, written.has(IO.grad(name)) ? acc!.get(name)! : { ...fromOrt(out[IO.grad(name)]), dims: state.params.get(name)!.dims });
    this.takeBuffers(state, out, written);
    const gradNorm = Number(out[IO.gradNorm].data[0]);
    // A step whose gradients overflowed (fp16, or any precision with nan_policy: skip_step)
    // changes nothing; with fp16, GradScaler lowers the scale.
    const skip = (s.lossScale !== undefined || this.opts.skipNonFinite) && !Number.isFinite(gradNorm);
    if (!skip) await this.updates.apply(state.params, state.optimizer, this.params, grads, out[IO.gradCoef], s.lr, s.step, this.opts.inPlace);
    releaseCopies(out, this.params.map((p) => IO.grad(p.name)).filter((g) => !written.has(g)));
    return { loss: Number(out[IO.loss].data[0]), gradNorm };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    await this.updates.release();
  }
}

/** Names of feeds whose memory overlaps another feed's: those are never written in place. */
function overlappingFeeds(feeds: Record<string, ort.Tensor>): Set<string> {
  const byBuffer = new Map<ArrayBufferLike, { name: string; start: number; end: number }[]>();
  for (const [name, t] of Object.entries(feeds)) {
    const d = t.data as ArrayBufferView;
    if (!ArrayBuffer.isView(d)) continue;
    let list = byBuffer.get(d.buffer);
    if (!list) byBuffer.set(d.buffer, (list = []));
    list.push({ name, start: d.byteOffset, end: d.byteOffset + d.byteLength });
  }
  const shared = new Set<string>();
  for (const list of byBuffer.values()) {
    list.sort((a, b) => a.start - b.start);
    // The span reaching furthest so far: a later span starting before its end overlaps it.
    let reach = list[0];
    for (const span of list.slice(1)) {
      if (span.start < reach.end) {
        shared.add(span.name);
        shared.add(reach.name);
      }
      if (span.end > reach.end) reach = span;
    }
  }
  return shared;
}

/** One eval-step run: the logits, or for a step compiled without them each labelled position's predicted class (evalStep.ts). */
export interface EvalOutput {
  logits?: Tensor;
  loss?: number;
  /** Flat positions b·S + s (int64 [K]) and their predicted classes (int64 [K]). */
  labelled?: { at: Tensor; predicted: Tensor };
}

/** Runs the eval or predict step over batches with the current parameters. */
export class EvalRunner {
  private constructor(private readonly session: ort.InferenceSession, readonly withLoss: boolean) {}

  static async create(prepared: PreparedModel, loss: LossHeadOptions | undefined, opts: SessionOptions & EvalStepOptions = {}): Promise<EvalRunner> {
    return new EvalRunner(await createSession(compileEvalStep(prepared, loss, opts), opts), !!loss);
  }

  /** Whether the step gives logits (not where it was compiled for the loss alone). */
  get withLogits(): boolean {
    return this.session.outputNames.includes(EVAL_IO.logits);
  }

  async run(state: TrainingState, batch: Batch): Promise<EvalOutput> {
    const f: Record<string, ort.Tensor> = {};
    // Targets in the batch feed the eval step's loss; the predict step has no such inputs.
    for (const [k, v] of batch) if (this.session.inputNames.includes(k)) f[k] = toOrt(v);
    for (const [k, v] of state.params) f[k] = toOrt(v);
    for (const [k, v] of state.buffers) f[k] = toOrt(v);
    const out = await this.session.run(f);
    const labelled = out[EVAL_IO.labelledAt] && { at: fromOrt(out[EVAL_IO.labelledAt]), predicted: fromOrt(out[EVAL_IO.labelledPredicted]) };
    return { logits: this.withLogits ? fromOrt(out[EVAL_IO.logits]) : undefined, loss: this.withLoss ? Number(out[EVAL_IO.loss].data[0]) : undefined, labelled };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
