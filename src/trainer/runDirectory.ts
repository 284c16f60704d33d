// The names in a run directory (output_dir), in one module that imports nothing of the engine,
// so that readers of run directories — the extension's tree and panel — share them without
// pulling the engine into their bundle.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const CHECKPOINT_PREFIX = 'checkpoint-';
export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const SCHEDULER_FILE = 'scheduler.json';
export const RNG_FILE = 'rng_state.json';
export const STATE_FILE = 'trainer_state.json';
export const ARGS_FILE = 'training_args.json';
export const JSONL_LOG = 'trainer_log.jsonl';
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
