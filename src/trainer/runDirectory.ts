// The names in a run directory (output_dir), in one module that imports nothing of the engine,
// so that readers of run directories — the extension's tree and panel — share them without
// pulling the engine into their bundle.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CHECKPOINT_PREFIX = 'checkpoint-';
export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'model.safetensors';
/** transformers.js's layout: onnx/model.onnx, its weights inline or (past 2 GiB) in onnx/model.onnx_data (written beside the root files for models that came that way). */
export const TRANSFORMERS_JS_FOLDER = 'onnx';
export const TRANSFORMERS_JS_DATA = 'model.onnx_data';
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
/** Hugging Face's image-processor settings, saved beside every model trained on images. */
export const PREPROCESSOR_FILE = 'preprocessor_config.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const SCHEDULER_FILE = 'scheduler.json';
export const RNG_FILE = 'rng_state.json';
export const STATE_FILE = 'trainer_state.json';
export const ARGS_FILE = 'training_args.json';
export const JSONL_LOG = 'trainer_log.jsonl';
/** What `onnx-trainer evaluate` found about a classifier's errors (loop/evalReport.ts). */
export const EVAL_REPORT_FILE = 'eval_report.json';
/** Held (with the writer's pid) while a training process writes the directory. */
export const LOCK_FILE = '.trainer.lock';

/** The files a resumable checkpoint must hold. */
export const REQUIRED_FILES = [MODEL_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, SCHEDULER_FILE, RNG_FILE, STATE_FILE];

/** Whether a folder name is a checkpoint's, and its step. */
export function checkpointStep(name: string): number | undefined {
  const m = /^checkpoint-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Checkpoint folders of a run, oldest step first. */
export function listCheckpoints(outputDir: string): { path: string; step: number }[] {
  if (!fs.existsSync(outputDir)) return [];
  return fs.readdirSync(outputDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && checkpointStep(e.name) !== undefined)
    .map((e) => ({ path: path.join(outputDir, e.name), step: checkpointStep(e.name)! }))
    .sort((a, b) => a.step - b.step);
}

/** What .trainer.lock records about its writer. */
export interface LockHolder {
  pid: number;
  /** Linux: the process's start time (/proc/<pid>/stat field 22, clock ticks since boot). */
  startTime?: string;
  host?: string;
}

/** A process's start time where the system tells it (Linux), to tell a reused PID apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Reads a lock file: JSON {pid, start_time, host}, or a bare PID (older runs). */
export function readLock(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const v = JSON.parse(text) as { pid?: unknown; start_time?: unknown; host?: unknown };
    if (!Number.isInteger(v.pid) || (v.pid as number) <= 0) return undefined;
    return { pid: v.pid as number, startTime: typeof v.start_time === 'string' ? v.start_time : undefined, host: typeof v.host === 'string' ? v.host : undefined };
  } catch {
    return undefined;
  }
}

/** Whether a process with this id is running on this machine (this process included). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a lock's writer still runs. A lock from another host cannot be checked and counts as
 * live. On this host, a PID that is gone, that is this very process (a lock left by an earlier
 * process that had the same PID), or that now belongs to a process started at another time
 * (PID reuse after a reboot or in a container) is stale.
 */
export function lockHolderAlive(holder: LockHolder): boolean {
  if (holder.host !== undefined && holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid || !processAlive(holder.pid)) return false;
  const now = processStartTime(holder.pid);
  return holder.startTime === undefined || now === undefined || now === holder.startTime;
}
