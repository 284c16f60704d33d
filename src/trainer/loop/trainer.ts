// The Trainer: train(), evaluate(), predict() with Hugging Face's semantics. The training loop
// is short on purpose; decisions (when to log, evaluate, save, stop) come from callbacks, and
// everything that touches disk lives in checkpoints.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainingArguments } from '../config/trainingArguments';
import { collate, microBatches } from '../data/collate';
import { Dataset, batchExamples } from '../data/dataset';
import { UserError } from '../errors';
import { removeFolderDurably, writeFileDurably } from '../io/durable';
import { Model } from '../onnx/model';
import { TrainPrograms, TrainStepRunner, TrainingState, compileTrainPrograms, initialState } from '../programs/executor';
import { ModelCard, exportModel } from '../programs/export';
import { LoraModel, adapterTensorNames, mergeAdapters } from '../programs/lora';
import { writeAdapterFiles } from '../programs/peftFiles';
import { LossHeadOptions } from '../programs/lossHeads';
import { PreparedModel, PrepareOptions, prepareModel } from '../programs/prepare';
import { precisionOf } from '../programs/precision';
import { keyOf, permutation } from '../programs/random';
import { DeviceRequest, collectGarbage } from '../programs/session';
import { CallbackList, TrainerCallback, defaultFlowCallback } from './callbacks';
import { ResumeState, checkpointName, lastCheckpoint, listCheckpoints, loadCheckpoint, loadCheckpointWeights, removeStaleTemporaryFolders, rotateCheckpoints, saveCheckpoint } from './checkpoints';
import { Evaluator } from './evaluation';
import { EvalPrediction, Metrics } from './metrics';
import { metricValue, updateBestMetric } from './bestModel';
import { TrainPlan, planTraining } from './plan';
import { GradScaler } from './gradScaler';
import { microBatchWeights } from './windowWeights';
import { freshTrainerState, trainSummary } from './summary';
import { lockRunDirectory } from './lock';
import { assertFiniteWeights, nonFiniteStep } from './nonFinite';
import { PlateauScheduler, lrLambda, validateSchedule } from './schedules';
import { LabelOptions, countFlopParameters, defaultLabels, isOutOfMemory, lossOptions, optimizerFromArgs } from './setup';

export { isOutOfMemory } from './setup';
import { LogEntry, TrainerControl, TrainerState, pythonJson } from './state';
import { STATE_FILE } from '../runDirectory';

export interface TrainerOptions {
  model: Model;
  args: TrainingArguments;
  /** Problem type and labels; default: single-label classification over the logits' last dim. */
  labels?: LabelOptions;
  trainDataset?: Dataset;
  evalDataset?: Dataset;
  /** Computes metrics from predictions; default: the built-in metrics named in `metrics`. */
  computeMetrics?: (p: EvalPrediction) => Metrics | Promise<Metrics>;
  /** Built-in metrics to report when computeMetrics is not given. */
  metrics?: string[];
  callbacks?: TrainerCallback[];
  device?: DeviceRequest;
  threads?: number;
  prepare?: PrepareOptions;
  prepared?: PreparedModel;
  /** LoRA (insertAdapters): the adapted model, trained in place of `model`; saved models carry peft's adapter files too. */
  lora?: LoraModel;
  /** Whether the run was interrupted (a signal, the extension's stop): then the end-of-training clean-up that would lose the stop checkpoint is skipped. */
  interrupted?: () => boolean;
}

export interface TrainOutput {
  global_step: number;
  /** Steps this call trained (0 when resuming a run that had already reached max_steps). */
  trained_steps: number;
  /** Stopped by a request before max_steps (the final model was not the goal). */
  interrupted: boolean;
  training_loss: number;
  metrics: Metrics;
}

export interface PredictionOutput {
  predictions: EvalPrediction;
  metrics: Metrics;
}

export class Trainer {
  readonly args: TrainingArguments;
  readonly prepared: PreparedModel;
  state = new TrainerState();
  control = new TrainerControl();
  /** Current weights and optimizer state; undefined until train() or a checkpoint loads them. */
  training: TrainingState;
  private readonly callbacks: CallbackList;
  private readonly loss: LossHeadOptions;
  private programs: TrainPrograms | undefined;
  private readonly labels: LabelOptions;
  private readonly flopParameters: number;
  private initFired = false;
  private lastSavedStep = -1;
  private plateau?: PlateauScheduler;
  private evalRunner?: Evaluator;
  /** The train step's runner while a run is under way (released by train() when the run fails). */
  private running?: TrainStepRunner;

  constructor(private readonly opts: TrainerOptions) {
    this.args = opts.args;
    // A LoRA model trains its adapters only, whatever else `prepare` says.
    const trainOnly = opts.lora ? adapterTensorNames(opts.lora) : opts.prepare?.trainOnly;
    this.prepared = opts.prepared ?? prepareModel(opts.lora?.model ?? opts.model, { task: opts.labels?.task, ...opts.prepare, trainOnly });
    this.labels = opts.labels ?? defaultLabels(this.prepared);
    this.loss = lossOptions(this.labels, opts.args, opts.trainDataset);
    this.flopParameters = countFlopParameters(this.prepared);
    this.callbacks = new CallbackList([defaultFlowCallback(), ...(opts.callbacks ?? [])]);
    this.training = initialState(this.prepared, [], { adopt: true });
  }

  /** The model whose parameters train: the adapted one with LoRA. */
  private get trainedModel(): Model {
    return this.opts.lora?.model ?? this.opts.model;
  }

  /** Adds a callback (after the ones given at construction). */
  addCallback(cb: TrainerCallback): void {
    this.callbacks.callbacks.push(cb);
  }

  private async fire(event: Parameters<CallbackList['fire']>[0], extras: Record<string, unknown> = {}) {
    this.control = await this.callbacks.fire(event, this.args, this.state, this.control, extras);
  }

  private async init() {
    if (this.initFired) return;
    this.initFired = true;
    await this.fire('on_init_end');
  }

  private sessionOptions() {
    return { device: this.opts.device, threads: this.opts.threads };
  }

  /**
   * Trains, from scratch or from a checkpoint (true: the latest in output_dir). With
   * auto_find_batch_size, a run that runs out of memory starts over with a batch 0.9× the size,
   * as Hugging Face (accelerate's find_executable_batch_size) does.
   */
  async train(resumeFrom?: string | boolean): Promise<TrainOutput> {
    await this.init();
    const unlock = lockRunDirectory(this.args.output_dir);
    try {
      let batchSize = this.args.per_device_train_batch_size;
      for (;;) {
        try {
          return await this.trainWithBatchSize(batchSize, resumeFrom);
        } catch (e) {
          // The failed attempt's sessions and optimizer memory go before a retry makes new ones.
          await this.running?.release().catch(() => undefined);
          this.running = undefined;
          if (!this.args.auto_find_batch_size || !isOutOfMemory(e)) throw e;
          const next = Math.floor(batchSize * 0.9);
          if (next < 1) throw new Error(`out of memory even with a train batch size of ${batchSize}: ${(e as Error).message}`);
          process.stderr.write(`auto_find_batch_size: out of memory with batch size ${batchSize}; retrying with ${next}\n`);
          batchSize = next;
        }
      }
    } finally {
      unlock();
    }
  }

  /**
   * Compiles the train step(s) this run executes, once: the job calls it to refuse a model
   * without gradient rules before anything is written, and train() (with auto_find_batch_size's
   * retries) loads what it compiled.
   */
  compileTrainStep(): TrainPrograms {
    const args = this.args;
    this.programs ??= compileTrainPrograms(this.prepared, this.loss, args.gradient_accumulation_steps > 1, {
      recompute: args.gradient_checkpointing, precision: precisionOf(args),
    });
    return this.programs;
  }

  private async trainWithBatchSize(batchSize: number, resumeFrom?: string | boolean): Promise<TrainOutput> {
    const args = this.args;
    const data = this.opts.trainDataset;
    if (!data) throw new UserError('train() needs a training data set (data.train)');
    const plan = planTraining(data.size, args, batchSize);
    if (plan.microBatchesPerEpoch === 0) throw new UserError(`${data.file}: ${data.size} samples make no full batch of ${batchSize} with dataloader_drop_last`);
    const schedule = { type: args.lr_scheduler_type, total: plan.maxSteps, warmup: plan.warmupSteps, lr0: args.learning_rate, kwargs: args.lr_scheduler_kwargs };
    validateSchedule(schedule);
    const ga = args.gradient_accumulation_steps;
    this.plateau = args.lr_scheduler_type === 'reduce_lr_on_plateau' ? new PlateauScheduler(args.learning_rate, args.lr_scheduler_kwargs) : undefined;
    const precision = precisionOf(args);
    const skipNonFinite = args.nan_policy === 'skip_step';
    // A previous run's state (an earlier train() or an out-of-memory attempt) goes first: its
    // moments live in that run's optimizer kernel, whose memory initialState's collection can
    // then free once the weights have moved into the new one.
    this.training = initialState(this.prepared, [], { adopt: true });
    const runner = await TrainStepRunner.create(this.prepared, this.loss, optimizerFromArgs(args), ga > 1, { ...this.sessionOptions(), recompute: args.gradient_checkpointing, precision, skipNonFinite, programs: this.compileTrainStep() });
    this.running = runner;
    this.training = initialState(this.prepared, runner.slots, { adopt: true, moment: runner.moment, place: runner.place });
    this.state = freshTrainerState(plan, batchSize);
    const book: ResumeState = { schedulerStep: 0, optimizerSteps: 0, seed: args.seed, dataSeed: args.data_seed ?? args.seed, lossSinceLog: 0, lastLoggedStep: 0, totalLoss: 0 };
    const scaler = precision === 'fp16' ? new GradScaler() : undefined;

    const from = resumeFrom === true ? lastCheckpoint(args.output_dir) : resumeFrom || undefined;
    if (resumeFrom === true && !from) throw new UserError(`no complete checkpoint found in ${args.output_dir} to resume from`);
    if (from) this.resume(from, plan, book);
    if (scaler && book.scaler) scaler.state = { ...book.scaler };

    removeStaleTemporaryFolders(args.output_dir);
    // overwrite_output_dir: an earlier run's checkpoints go, so that runs are not mixed.
    if (!from && args.overwrite_output_dir) for (const c of listCheckpoints(args.output_dir)) removeFolderDurably(c.path);
    this.control.should_training_stop = false;
    await this.fire('on_train_begin');
    if (args.eval_on_start) await this.evaluate();
    const start = performance.now();
    let gradNorm = NaN;
    let lr = 0;
    const L = plan.microBatchesPerEpoch;
    const epochsDone = Math.floor(this.state.global_step / plan.updatesPerEpoch);
    const skip = args.ignore_data_skip ? 0 : (this.state.global_step % plan.updatesPerEpoch) * ga;
    // A resumed run that already reached max_steps trains nothing more (it only finishes).
    const firstStep = this.state.global_step;
    if (firstStep >= plan.maxSteps) this.control.should_training_stop = true;

    for (let epoch = epochsDone; epoch < plan.epochs && !this.control.should_training_stop; epoch++) {
      const batches = microBatches(permutation(data.size, keyOf(book.dataSeed, epoch)), batchSize, args.dataloader_drop_last);
      this.control.should_epoch_stop = false;
      await this.fire('on_epoch_begin');
      for (let w = epoch === epochsDone ? skip : 0; w < L; w += ga) {
        const window = batches.slice(w, Math.min(w + ga, L));
        this.resetStepFlags();
        await this.fire('on_step_begin');
        lr = this.plateau ? this.plateau.state.lr : args.learning_rate * lrLambda(schedule, book.schedulerStep);
        const step = this.state.global_step + 1;
        let windowLoss = 0;
        const collated = window.map((m) => collate(batchExamples(data, m, epoch), this.prepared.inputs, this.loss, data.padding));
        const weights = microBatchWeights(collated, this.loss.task ?? 'text-classification');
        for (let j = 0; j < window.length; j++) {
          const batch = collated[j];
          // Hugging Face's floating-point operation estimate: 6 · input elements · parameters.
          this.state.total_flos += 6 * (batch.get(this.prepared.inputs[0].name)?.data.length ?? 0) * this.flopParameters;
          const key = keyOf(book.seed, step, j);
          const scalars = { lr, step: book.optimizerSteps + 1, maxGradNorm: args.max_grad_norm, randomKey: key, lossScale: scaler?.scale };
          const last = j === window.length - 1;
          const r = await runner.microBatch(this.training, { batch, weight: weights[j], last, scalars });
          if (last) gradNorm = r.gradNorm!;
          else await this.fire('on_substep_end');
          windowLoss += r.loss * weights[j];
        }
        await this.fire('on_pre_optimizer_step');
        await this.fire('on_optimizer_step');
        // A non-finite float32 step already poisoned the weights it returned (nonFinite.ts).
        if (!scaler && !skipNonFinite && !(Number.isFinite(windowLoss) && Number.isFinite(gradNorm))) {
          throw nonFiniteStep(step, windowLoss, gradNorm, lastCheckpoint(args.output_dir));
        }
        // fp16 (or nan_policy: skip_step): a step whose gradients overflowed was skipped (nothing
        // changed); as with Hugging Face, global_step still advances but the schedule and Adam's
        // step count do not.
        const applied = !(scaler || skipNonFinite) || Number.isFinite(gradNorm);
        scaler?.update(applied);
        book.scaler = scaler && { ...scaler.state };
        if (applied) {
          book.schedulerStep++;
          book.optimizerSteps++;
        }
        this.state.global_step = step;
        this.state.epoch = epoch + (w + window.length) / L;
        // Hugging Face's NaN/inf filter: a non-finite step loss counts as the running average.
        if (!Number.isFinite(windowLoss) && args.logging_nan_inf_filter) windowLoss = book.lossSinceLog / (1 + step - 1 - book.lastLoggedStep);
        book.lossSinceLog += windowLoss;
        await this.fire('on_step_end');
        await this.maybeLogSaveEvaluate(book, gradNorm, lr);
        if (this.control.should_epoch_stop || this.control.should_training_stop) break;
      }
      await this.fire('on_epoch_end');
      await this.maybeLogSaveEvaluate(book, gradNorm, lr);
    }
    this.running = undefined;
    await runner.release();

    const metrics = trainSummary((performance.now() - start) / 1000, plan, this.state, book);
    const trainLoss = metrics.train_loss;
    await this.log({ ...metrics });
    // An interrupted run keeps its weights and every checkpoint: it is to be resumed, not finished.
    const interrupted = this.state.global_step < plan.maxSteps && (this.opts.interrupted?.() ?? false);
    if (args.load_best_model_at_end && this.state.best_model_checkpoint && !interrupted) this.loadWeights(this.state.best_model_checkpoint);
    if (args.save_total_limit === 1 && this.state.best_model_checkpoint && !interrupted) {
      for (const c of listCheckpoints(args.output_dir)) if (path.resolve(c.path) !== path.resolve(this.state.best_model_checkpoint)) removeFolderDurably(c.path);
    }
    await this.fire('on_train_end');
    this.writeState();
    return { global_step: this.state.global_step, trained_steps: this.state.global_step - firstStep, interrupted, training_loss: trainLoss, metrics: { ...metrics, epoch: this.state.epoch } };
  }

  private resume(dir: string, plan: TrainPlan, book: ResumeState) {
    const loaded = loadCheckpoint(dir, this.training);
    // The parameters and moments are read into the state's own tensors, which may live where the
    // optimizer's kernel updates them in place (initialState's place and moment); loadCheckpoint
    // checked their shapes.
    const { params, optimizer: moments } = this.training;
    for (const [k, t] of loaded.training.params) params.get(k)!.data.set(t.data as never);
    for (const [k, t] of loaded.training.optimizer) moments.get(k)!.data.set(t.data as never);
    this.training = { ...loaded.training, params, optimizer: moments };
    // The checkpoint's copies of the weights and moments are garbage now (BERT-base: 1.3 GB).
    collectGarbage();
    const s = loaded.trainerState;
    // Hugging Face keeps the checkpoint's state but recomputes the plan from the current args.
    s.max_steps = plan.maxSteps;
    s.num_train_epochs = plan.epochs;
    if (s.best_model_checkpoint && !fs.existsSync(s.best_model_checkpoint)) s.best_model_checkpoint = null;
    this.state = Object.assign(new TrainerState(), s);
    Object.assign(book, loaded.resume);
    if (this.plateau && loaded.resume.plateau) this.plateau.state = { ...loaded.resume.plateau };
  }

  private resetStepFlags() {
    this.control.should_log = false;
    this.control.should_evaluate = false;
    this.control.should_save = false;
  }

  private async maybeLogSaveEvaluate(book: ResumeState, gradNorm: number, lr: number) {
    if (this.control.should_log && this.state.global_step > book.lastLoggedStep) {
      const logs: LogEntry = { loss: book.lossSinceLog / (this.state.global_step - book.lastLoggedStep), grad_norm: gradNorm, learning_rate: lr };
      book.totalLoss += book.lossSinceLog;
      book.lossSinceLog = 0;
      book.lastLoggedStep = this.state.global_step;
      await this.log(logs);
      this.control.should_log = false;
    }
    if (this.control.should_evaluate) {
      const metrics = await this.evaluate();
      if (this.plateau) this.plateau.step(metricValue(this.args, metrics));
      const best = updateBestMetric(this.args, this.state, metrics);
      if (this.args.save_strategy === 'best') this.control.should_save = best;
      this.control.should_evaluate = false;
    }
    // A step saved already (a stop request, then the epoch's end) is not written twice.
    if (this.control.should_save && this.state.global_step !== this.lastSavedStep) {
      const checkpoint = this.saveCheckpoint(book, lr);
      this.lastSavedStep = this.state.global_step;
      await this.fire('on_save', { checkpoint });
      this.control.should_save = false;
    }
  }

  /** Records a log entry (epoch and step added) and fires on_log. */
  async log(logs: LogEntry): Promise<void> {
    logs.epoch = this.state.epoch;
    this.state.log_history.push({ ...logs, step: this.state.global_step });
    await this.fire('on_log', { logs });
  }

  private saveCheckpoint(book: ResumeState, lr: number): string {
    const out = this.args.output_dir;
    fs.mkdirSync(out, { recursive: true });
    const step = this.state.global_step;
    if (this.state.best_global_step !== null) {
      const bestDir = path.join(out, checkpointName(this.state.best_global_step));
      if (this.state.best_global_step === step || fs.existsSync(bestDir)) this.state.best_model_checkpoint = bestDir;
    }
    this.state.stateful_callbacks = { TrainerControl: { args: { ...this.control, should_save: true }, attributes: {} } };
    for (const cb of this.callbacks.callbacks) if (cb.stateful && cb.name) this.state.stateful_callbacks[cb.name] = cb.stateful();
    assertFiniteWeights(new Map([...this.training.params, ...this.training.buffers]), checkpointName(step));
    const dir = saveCheckpoint(out, this.trainedModel, {
      card: this.card(),
      training: this.training, trainerState: this.state, resume: { ...book, plateau: this.plateau && { ...this.plateau.state } }, args: { ...this.args }, learningRate: lr,
      writeExtra: (d) => this.writeAdapter(d),
    }, this.args.save_only_model);
    rotateCheckpoints(out, this.args.save_total_limit, this.state.best_model_checkpoint);
    return dir;
  }

  private loadWeights(dir: string) {
    const w = loadCheckpointWeights(dir, new Map([...this.training.params, ...this.training.buffers]));
    for (const k of this.training.params.keys()) if (w.has(k)) this.training.params.set(k, w.get(k)!);
    for (const k of this.training.buffers.keys()) if (w.has(k)) this.training.buffers.set(k, w.get(k)!);
  }

  /** Loads a checkpoint's weights for evaluate() or predict(). */
  loadCheckpointWeights(dir: string): void {
    this.loadWeights(dir);
  }

  private evaluator(): Evaluator {
    this.evalRunner ??= new Evaluator(this.prepared, this.loss, this.args, this.sessionOptions(), this.opts.computeMetrics, this.opts.metrics, this.labels.names, this.labels.maskTokenId);
    return this.evalRunner;
  }

  /** Evaluates on the eval set: metrics prefixed "eval_", logged, on_evaluate fired. */
  async evaluate(dataset = this.opts.evalDataset, prefix = 'eval'): Promise<Metrics> {
    return (await this.evaluateWithPredictions(dataset, prefix, false)).metrics;
  }

  /**
   * evaluate(), also returning the logits and label ids (what eval_report.json is computed from);
   * `predictions` false: only where the metrics need them (Evaluator.run).
   */
  async evaluateWithPredictions(dataset = this.opts.evalDataset, prefix = 'eval', predictions = true): Promise<{ metrics: Metrics; prediction: EvalPrediction }> {
    await this.init();
    if (!dataset) throw new UserError('evaluate() needs an evaluation data set (data.eval)');
    const { metrics, prediction } = await this.evaluator().run(this.training, dataset, prefix, () => this.fire('on_prediction_step'), predictions);
    await this.log({ ...metrics });
    await this.fire('on_evaluate', { metrics });
    return { metrics: { ...metrics, epoch: this.state.epoch }, prediction };
  }

  /** Predicts on a data set: logits, and "test_" metrics where labels are present (not logged). */
  async predict(dataset: Dataset, prefix = 'test'): Promise<PredictionOutput> {
    await this.init();
    const { metrics, prediction } = await this.evaluator().run(this.training, dataset, prefix, () => this.fire('on_prediction_step'));
    await this.fire('on_predict', { metrics });
    return { predictions: prediction, metrics };
  }

  /** Writes output_dir/trainer_state.json. */
  writeState(): void {
    fs.mkdirSync(this.args.output_dir, { recursive: true });
    writeFileDurably(path.join(this.args.output_dir, STATE_FILE), pythonJson(this.state));
  }

  /** What config.json beside every saved model says: label count, problem type, names. */
  card(): ModelCard {
    const l = this.labels;
    return { task: l.task ?? 'text-classification', num_labels: l.numLabels, problem_type: l.problemType, labels: l.names, files: l.files, ties: this.prepared.ties, base: l.baseConfig };
  }

  /** Writes the inference-ready model (model.onnx + model.safetensors + config.json) into `dir`. */
  saveModel(dir = this.args.output_dir): void {
    assertFiniteWeights(new Map([...this.training.params, ...this.training.buffers]), path.join(dir, 'model.onnx'));
    fs.mkdirSync(dir, { recursive: true });
    exportModel(this.trainedModel, new Map([...this.training.params, ...this.training.buffers]), dir, this.card());
    this.writeAdapter(dir);
  }

  /** LoRA: writes the base model with the adapters merged into its weights (W + scaling · (B A)ᵀ), no adapter nodes. */
  saveMergedModel(dir: string): void {
    if (!this.opts.lora) throw new UserError('this model has no LoRA adapters to merge (model.lora is not set)');
    fs.mkdirSync(dir, { recursive: true });
    exportModel(this.opts.lora.base, mergeAdapters(this.opts.lora, this.training.params), dir, this.card());
  }

  /** LoRA: writes peft's adapter_model.safetensors + adapter_config.json of the current adapters. */
  writeAdapter(dir: string): void {
    if (this.opts.lora) writeAdapterFiles(dir, this.opts.lora, this.training.params);
  }

  async release(): Promise<void> {
    await this.evalRunner?.release();
    this.evalRunner = undefined;
  }
}
