// From log_history entries to the chart series the metrics panel draws, and the downsampling
// that keeps long runs smooth: the panel gets at most a few thousand points per series, the full
// history stays on disk. No `vscode` here.

import type { Point, SeriesSet } from '../webviewProtocol';
import type { LogEntry } from './logHistory';

/** Points per series the panel gets in a snapshot; it may grow to twice that before a redraw. */
export const POINT_BUDGET = 1500;

const TRAINING_KEYS = ['loss', 'learning_rate', 'grad_norm'];
/** Evaluation keys that measure speed, not the model. */
const EVAL_SPEED = new Set(['eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

/** The metrics one entry contributes: training logs give loss, learning rate and grad norm; evaluations their eval_* metrics. */
export function metricsOf(entry: LogEntry): [string, number][] {
  if ('train_runtime' in entry) return [];
  const out: [string, number][] = [];
  const isEval = Object.keys(entry).some((k) => k.startsWith('eval_'));
  if (isEval) {
    for (const [k, v] of Object.entries(entry)) if (k.startsWith('eval_') && !EVAL_SPEED.has(k) && Number.isFinite(v)) out.push([k, v]);
  } else {
    for (const k of TRAINING_KEYS) if (Number.isFinite(entry[k])) out.push([k, entry[k]]);
  }
  return out;
}

/** Series by metric from entries, in step order. */
export function seriesOf(entries: readonly LogEntry[]): SeriesSet {
  const out: SeriesSet = {};
  for (const e of entries) {
    for (const [k, v] of metricsOf(e)) (out[k] ??= []).push([e.step, v]);
  }
  return out;
}

/**
 * Largest-Triangle-Three-Buckets downsampling: keeps the first and last points and, in each
 * bucket between, the point that best preserves the line's shape (spikes survive, unlike
 * averaging or taking every n-th point).
 */
export function downsample(points: readonly Point[], budget: number): Point[] {
  if (budget >= points.length || budget < 3) return points.slice();
  const out: Point[] = [points[0]];
  const bucket = (points.length - 2) / (budget - 2);
  let a = 0;
  for (let i = 0; i < budget - 2; i++) {
    const start = Math.floor(i * bucket) + 1;
    const end = Math.min(Math.floor((i + 1) * bucket) + 1, points.length - 1);
    // The average of the next bucket is the third corner of the triangle.
    const nextStart = end;
    const nextEnd = Math.min(Math.floor((i + 2) * bucket) + 1, points.length);
    let ax = 0;
    let ay = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      ax += points[j][0];
      ay += points[j][1];
    }
    const n = Math.max(nextEnd - nextStart, 1);
    ax /= n;
    ay /= n;
    let best = start;
    let bestArea = -1;
    const [px, py] = points[a];
    for (let j = start; j < end; j++) {
      const area = Math.abs((px - ax) * (points[j][1] - py) - (px - points[j][0]) * (ay - py));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]);
    a = best;
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Every series of a set downsampled to the budget. */
export function downsampleSet(set: SeriesSet, budget = POINT_BUDGET): SeriesSet {
  const out: SeriesSet = {};
  for (const [k, pts] of Object.entries(set)) out[k] = downsample(pts, budget);
  return out;
}
