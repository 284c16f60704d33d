// Checkpoint folders in Hugging Face's layout: checkpoint-<global_step>/ with an inference-ready
// model (model.onnx + model.safetensors), optimizer.safetensors, scheduler.json,
// rng_state.json, trainer_state.json and training_args.json. Written to a temporary folder and
// renamed into place, so a killed process never leaves a half-written checkpoint behind.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Model } from '../onnx/model';
import { readSafetensors, writeSafetensors } from '../onnx/safetensors';
import { Tensor } from '../onnx/tensor';
import { TrainingState } from '../programs/executor';
import { ModelCard, exportModel } from '../programs/export';
import { UserError } from '../errors';
import { removeFolderDurably, syncFolder, writeFileDurably } from '../io/durable';
import { GradScalerState } from './gradScaler';
import { PlateauState } from './schedules';
import { TrainerState, parsePythonJson, pythonJson, trainerStateProblem } from './state';

import { ARGS_FILE, CHECKPOINT_PREFIX, OPTIMIZER_FILE, REQUIRED_FILES, RNG_FILE, SCHEDULER_FILE, STATE_FILE, TRANSFORMERS_JS_FOLDER, WEIGHTS_FILE, listCheckpoints, processAlive } from '../runDirectory';

export { ARGS_FILE, CHECKPOINT_PREFIX, OPTIMIZER_FILE, REQUIRED_FILES, RNG_FILE, SCHEDULER_FILE, STATE_FILE, listCheckpoints };

/** fp16 runs: GradScaler's state (Hugging Face's scaler.pt). */
export const SCALER_FILE = 'scaler.json';

/** What resuming needs beyond the weights: where the schedule and the loss bookkeeping stood. */
export interface ResumeState {
  /** Scheduler steps taken (LambdaLR's last_epoch). */
  schedulerStep: number;
  /** Updates the optimizer applied (Adam's step; fewer than global_step when fp16 skipped some). */
  optimizerSteps: number;
  /** fp16: GradScaler's state. */
  scaler?: GradScalerState;
  /** Seeds of the counter-based generators (dropout masks, data order). */
  seed: number;
  dataSeed: number;
  /** Sum of per-step losses since the last log, and that log's step. */
  lossSinceLog: number;
  lastLoggedStep: number;
  /** Sum of all logged loss sums (for train_loss). */
  totalLoss: number;
  /** ReduceLROnPlateau's state, for that schedule. */
  plateau?: PlateauState;
}

export interface CheckpointContents {
  card: ModelCard;
  training: TrainingState;
  trainerState: TrainerState;
  resume: ResumeState;
  args: Record<string, unknown>;
  learningRate: number;
  /** Writes more model files into the checkpoint folder (LoRA: peft's adapter files). */
  writeExtra?: (dir: string) => void;
}

export function checkpointName(step: number): string {
  return `${CHECKPOINT_PREFIX}${step}`;
}

function writeJson(file: string, value: unknown) {
  writeFileDurably(file, pythonJson(value));
}

/** Writes checkpoint-<step> atomically; returns its path. */
export function saveCheckpoint(outputDir: string, model: Model, c: CheckpointContents, onlyModel: boolean): string {
  const final = path.join(outputDir, checkpointName(c.trainerState.global_step));
  const tmp = path.join(outputDir, `.tmp-${checkpointName(c.trainerState.global_step)}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    writeCheckpointFiles(tmp, model, c, onlyModel);
  } catch (e) {
    // A full disk: the half-written folder goes; the previous checkpoints stay.
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // A checkpoint of the same step (a rerun) is replaced only once the new one is complete.
  removeFolderDurably(final);
  fs.renameSync(tmp, final);
  syncFolder(outputDir);
  return final;
}

function writeCheckpointFiles(tmp: string, model: Model, c: CheckpointContents, onlyModel: boolean): void {
  exportModel(model, new Map([...c.training.params, ...c.training.buffers]), tmp, c.card);
  c.writeExtra?.(tmp);
  if (!onlyModel) {
    const opt = new Map<string, Tensor>();
    for (const [key, t] of c.training.optimizer) {
      const [slot, ...rest] = key.split('/');
      opt.set(`${rest.join('/')}.${slot}`, t);
    }
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), opt, { format: 'onnx-trainer' });
    writeJson(path.join(tmp, SCHEDULER_FILE), { last_epoch: c.resume.schedulerStep, optimizer_step: c.resume.optimizerSteps, _last_lr: [c.learningRate], ...(c.resume.plateau ? { plateau: c.resume.plateau } : {}) });
    if (c.resume.scaler) writeJson(path.join(tmp, SCALER_FILE), c.resume.scaler);
    writeJson(path.join(tmp, RNG_FILE), {
      generator: 'counter-based (lowbias32)', seed: c.resume.seed, data_seed: c.resume.dataSeed,
      loss_since_log: c.resume.lossSinceLog, last_logged_step: c.resume.lastLoggedStep, total_loss: c.resume.totalLoss,
    });
  }
  writeJson(path.join(tmp, STATE_FILE), c.trainerState);
  writeJson(path.join(tmp, ARGS_FILE), c.args);
}

/**
 * Removes temporary checkpoint folders, folders being rotated away and temporary files
 * (io/durable.ts) left by processes that died while writing them (the pid is part of the name;
 * those of live processes stay).
 */
export function removeStaleTemporaryFolders(outputDir: string): void {
  if (!fs.existsSync(outputDir)) return;
  for (const name of fs.readdirSync(outputDir)) {
    // Checkpoints being written, and folders being deleted by rotation.
    const m = /^\.tmp-(?:delete-)?checkpoint-\d+-(\d+)$/.exec(name) ?? /^\..+\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(outputDir, name), { recursive: true, force: true });
  }
  // The final model's onnx/ folder (transformers.js's layout) has temporary files of its own.
  const js = path.join(outputDir, TRANSFORMERS_JS_FOLDER);
  if (!fs.existsSync(js) || !fs.statSync(js).isDirectory()) return;
  for (const name of fs.readdirSync(js)) {
    const m = /^\..+\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(js, name), { force: true });
  }
}



/** The newest complete checkpoint of output_dir (Hugging Face's get_last_checkpoint). */
export function lastCheckpoint(outputDir: string): string | undefined {
  const all = listCheckpoints(outputDir).filter((c) => REQUIRED_FILES.every((f) => fs.existsSync(path.join(c.path, f))));
  return all.length ? all[all.length - 1].path : undefined;
}

/**
 * save_total_limit rotation (Hugging Face 5.x): the newest checkpoint and the best one are
 * protected; the oldest others go until at most max(limit, protected) remain.
 */
export function rotateCheckpoints(outputDir: string, limit: number | null, best: string | null): string[] {
  if (!limit || limit <= 0) return [];
  const all = listCheckpoints(outputDir);
  if (all.length <= limit) return [];
  const protectedPaths = new Set([all[all.length - 1].path, ...(best ? [path.resolve(best)] : [])]);
  const keep = Math.max(limit, protectedPaths.size);
  const deleted: string[] = [];
  let remaining = all.length;
  for (const c of all) {
    if (remaining <= keep) break;
    if (protectedPaths.has(path.resolve(c.path))) continue;
    removeFolderDurably(c.path);
    deleted.push(c.path);
    remaining--;
  }
  return deleted;
}

export class CheckpointError extends UserError {}

/** Reads a checkpoint for resuming, refusing it (naming the file) when it is incomplete or from another model. */
export function loadCheckpoint(dir: string, expected: { params: Map<string, Tensor>; buffers: Map<string, Tensor>; optimizer: Map<string, Tensor> }): {
  training: TrainingState; trainerState: TrainerState; resume: ResumeState;
} {
  const fail = (file: string, msg: string) => new CheckpointError(`${path.join(dir, file)}: ${msg}`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: checkpoint folder not found`);
  for (const f of REQUIRED_FILES) if (!fs.existsSync(path.join(dir, f))) throw fail(f, 'missing; the checkpoint is incomplete (saved with save_only_model, or cut short)');
  const readTensors = (file: string) => {
    try {
      return readSafetensors(path.join(dir, file)).tensors;
    } catch (e) {
      throw fail(file, (e as Error).message);
    }
  };
  const weights = readTensors(WEIGHTS_FILE);
  const pick = (source: Map<string, Tensor>, wanted: Map<string, Tensor>, file: string, nameOf: (k: string) => string) => {
    const out = new Map<string, Tensor>();
    for (const [k, t] of wanted) {
      const got = source.get(nameOf(k));
      if (!got) throw fail(file, `has no tensor "${nameOf(k)}"; the checkpoint is from a different model`);
      if (got.type !== t.type || got.dims.join(',') !== t.dims.join(',')) {
        throw fail(file, `tensor "${nameOf(k)}" has shape [${got.dims}], the model needs [${t.dims}]; the checkpoint is from a different model`);
      }
      out.set(k, got);
    }
    return out;
  };
  const params = pick(weights, expected.params, WEIGHTS_FILE, (k) => k);
  const buffers = pick(weights, expected.buffers, WEIGHTS_FILE, (k) => k);
  const optimizer = pick(readTensors(OPTIMIZER_FILE), expected.optimizer, OPTIMIZER_FILE, (k) => {
    const [slot, ...rest] = k.split('/');
    return `${rest.join('/')}.${slot}`;
  });
  const json = (file: string) => {
    let v: unknown;
    try {
      v = parsePythonJson(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch (e) {
      throw fail(file, `unreadable (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail(file, `expected a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
    return v as Record<string, unknown>;
  };
  const sched = json(SCHEDULER_FILE);
  const rng = json(RNG_FILE);
  const stateJson = json(STATE_FILE);
  const problem = trainerStateProblem(stateJson);
  if (problem) throw fail(STATE_FILE, problem);
  const trainerState = TrainerState.fromJSON(stateJson);
  if (typeof sched.last_epoch !== 'number') throw fail(SCHEDULER_FILE, 'has no last_epoch');
  for (const k of ['seed', 'data_seed', 'loss_since_log', 'last_logged_step', 'total_loss']) {
    if (typeof rng[k] !== 'number') throw fail(RNG_FILE, `has no ${k}`);
  }
  let scaler: GradScalerState | undefined;
  if (fs.existsSync(path.join(dir, SCALER_FILE))) {
    const s = json(SCALER_FILE);
    if (typeof s.scale !== 'number' || !(s.scale > 0) || !Number.isInteger(s.growth_tracker) || (s.growth_tracker as number) < 0) {
      throw fail(SCALER_FILE, 'needs {"scale": a positive number, "growth_tracker": an integer >= 0}');
    }
    scaler = { scale: s.scale, growth_tracker: s.growth_tracker as number };
  }
  return {
    training: { params, buffers, optimizer },
    trainerState,
    resume: {
      schedulerStep: sched.last_epoch,
      // Checkpoints without optimizer_step come from runs where every step was applied.
      optimizerSteps: typeof sched.optimizer_step === 'number' ? sched.optimizer_step : trainerState.global_step,
      scaler,
      seed: rng.seed as number,
      dataSeed: rng.data_seed as number,
      lossSinceLog: rng.loss_since_log as number,
      lastLoggedStep: rng.last_logged_step as number,
      totalLoss: rng.total_loss as number,
      plateau: sched.plateau as PlateauState | undefined,
    },
  };
}

/**
 * Parameters and buffers of a checkpoint's model (for load_best_model_at_end and evaluate); with
 * `expected`, a tensor missing or of another shape is refused, naming the file (a checkpoint of
 * another model would otherwise fail inside onnxruntime).
 */
export function loadCheckpointWeights(dir: string, expected?: Map<string, Tensor>): Map<string, Tensor> {
  const file = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(file)) throw new CheckpointError(`${file}: missing`);
  let tensors: Map<string, Tensor>;
  try {
    tensors = readSafetensors(file).tensors;
  } catch (e) {
    throw new CheckpointError(`${file}: ${(e as Error).message}`);
  }
  for (const [name, t] of expected ?? []) {
    const got = tensors.get(name);
    if (!got) throw new CheckpointError(`${file}: has no tensor "${name}"; the weights are from a different model`);
    if (got.type !== t.type || got.dims.join(',') !== t.dims.join(',')) {
      throw new CheckpointError(`${file}: tensor "${name}" has shape [${got.dims}], the model needs [${t.dims}]; the weights are from a different model`);
    }
  }
  return tensors;
}
