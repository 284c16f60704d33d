// The checkpoints of a run directory as the tree shows them: step, epoch, the evaluation metrics
// at that step, whether it can be resumed, and which one is the best. Everything comes from
// checkpoint-N/trainer_state.json on disk. No `vscode` here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCK_FILE, REQUIRED_FILES, STATE_FILE, listCheckpoints, lockHolderAlive, readLock } from '../trainer/runDirectory';
import { parsePythonJson } from '../trainer/loop/state';

export interface CheckpointInfo {
  name: string;
  path: string;
  step: number;
  epoch: number | null;
  /** eval_* metrics of the evaluation at this checkpoint's step (speed metrics left out). */
  metrics: Record<string, number>;
  /** Holds what resuming needs (not saved with save_only_model, not cut short). */
  resumable: boolean;
  best: boolean;
}

export interface BestRule {
  metricForBest: string | null;
  greaterIsBetter: boolean | null;
}

const SPEED = new Set(['eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

interface SavedState {
  epoch?: number;
  global_step?: number;
  best_model_checkpoint?: string | null;
  log_history?: Record<string, unknown>[];
}

/** Parsed checkpoint states by folder, reused while the file is unchanged (they hold the whole log history). */
export type StateCache = Map<string, { mtimeMs: number; size: number; state: SavedState | undefined }>;

function readState(dir: string, cache?: StateCache): SavedState | undefined {
  const file = path.join(dir, STATE_FILE);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    cache?.delete(dir);
    return undefined;
  }
  const hit = cache?.get(dir);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.state;
  let state: SavedState | undefined;
  try {
    state = parsePythonJson(fs.readFileSync(file, 'utf8')) as SavedState;
  } catch {
    state = undefined;
  }
  cache?.set(dir, { mtimeMs: st.mtimeMs, size: st.size, state });
  return state;
}

/** Metric keys in the order rows show them: the best-checkpoint metric, the loss, then by name. */
function metricOrder(keys: string[], rule: BestRule): string[] {
  const best = rule.metricForBest ? (rule.metricForBest.startsWith('eval_') ? rule.metricForBest : `eval_${rule.metricForBest}`) : undefined;
  const rank = (k: string) => (k === best ? 0 : k === 'eval_loss' ? 1 : 2);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function evalMetricsAt(state: SavedState | undefined, step: number, rule: BestRule): Record<string, number> {
  const found: Record<string, number> = {};
  const history = state?.log_history ?? [];
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e.step !== step || !Object.keys(e).some((k) => k.startsWith('eval_'))) continue;
    for (const [k, v] of Object.entries(e)) if (k.startsWith('eval_') && !SPEED.has(k) && typeof v === 'number') found[k] = v;
    break;
  }
  const out: Record<string, number> = {};
  for (const k of metricOrder(Object.keys(found), rule)) out[k] = found[k];
  return out;
}

/** The checkpoints of `outputDir`, oldest step first, with the best one marked. */
export function readCheckpoints(outputDir: string, rule: BestRule = { metricForBest: null, greaterIsBetter: null }, cache?: StateCache): CheckpointInfo[] {
  const found = listCheckpoints(outputDir);
  if (cache) for (const dir of cache.keys()) if (!found.some((c) => c.path === dir)) cache.delete(dir);
  const states = found.map((c) => readState(c.path, cache));
  const infos: CheckpointInfo[] = found.map((c, i) => {
    const s = states[i];
    return {
      name: path.basename(c.path),
      path: c.path,
      step: c.step,
      epoch: typeof s?.epoch === 'number' ? s.epoch : null,
      metrics: evalMetricsAt(s, c.step, rule),
      resumable: REQUIRED_FILES.every((f) => fs.existsSync(path.join(c.path, f))),
      best: false,
    };
  });
  const best = bestCheckpoint(infos, states, rule);
  if (best) best.best = true;
  return infos;
}

/**
 * The best checkpoint: the trainer's own choice (best_model_checkpoint in the newest
 * checkpoint's state, Hugging Face's rule) when it names one that exists, otherwise the one with
 * the best value of metric_for_best_model.
 */
function bestCheckpoint(infos: CheckpointInfo[], states: (SavedState | undefined)[], rule: BestRule): CheckpointInfo | undefined {
  for (let i = states.length - 1; i >= 0; i--) {
    const named = states[i]?.best_model_checkpoint;
    if (typeof named !== 'string') continue;
    const hit = infos.find((c) => c.name === path.basename(named));
    if (hit) return hit;
    break;
  }
  if (!rule.metricForBest) return undefined;
  const key = rule.metricForBest.startsWith('eval_') ? rule.metricForBest : `eval_${rule.metricForBest}`;
  const greater = rule.greaterIsBetter ?? !key.endsWith('loss');
  let best: CheckpointInfo | undefined;
  for (const c of infos) {
    const v = c.metrics[key];
    if (v === undefined || Number.isNaN(v)) continue;
    const bv = best?.metrics[key];
    if (bv === undefined || (greater ? v > bv : v < bv)) best = c;
  }
  return best;
}

/** The newest checkpoint that can be resumed, if any. */
export function latestResumable(checkpoints: readonly CheckpointInfo[]): CheckpointInfo | undefined {
  for (let i = checkpoints.length - 1; i >= 0; i--) if (checkpoints[i].resumable) return checkpoints[i];
  return undefined;
}

export interface EndedStatus {
  status: 'idle' | 'finished' | 'stopped' | 'failed';
  message?: string;
}

/**
 * How the last run in a directory ended, read from disk (for runs this window did not start, or
 * after a restart): a lock whose process is gone means it died; trainer_state.json at the top,
 * written when train() ends, means it finished — or stopped, when it ended before max_steps.
 */
export function endedStatus(outputDir: string): EndedStatus {
  const lock = path.join(outputDir, LOCK_FILE);
  if (fs.existsSync(lock)) {
    const holder = readLock(lock);
    if (holder && lockHolderAlive(holder)) return { status: 'idle', message: `Being trained by another process (pid ${holder.pid}).` };
    return { status: 'failed', message: 'The last run ended without finishing (its process is gone); its checkpoints can be resumed.' };
  }
  const file = path.join(outputDir, STATE_FILE);
  if (!fs.existsSync(file)) return { status: 'idle' };
  let state: { global_step?: number; max_steps?: number; log_history?: Record<string, unknown>[] };
  try {
    state = parsePythonJson(fs.readFileSync(file, 'utf8')) as typeof state;
  } catch {
    return { status: 'idle' };
  }
  if (!state.log_history?.some((e) => 'train_runtime' in e)) return { status: 'idle' };
  const done = (state.global_step ?? 0) >= (state.max_steps ?? Infinity);
  return done ? { status: 'finished' } : { status: 'stopped', message: `Stopped at step ${state.global_step} of ${state.max_steps}.` };
}
