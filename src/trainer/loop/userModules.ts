// User JavaScript modules named in the config: callbacks (Hugging Face's event names) and
// compute_metrics. A module may export an object of handlers, a class, or a factory function
// (CommonJS or ES module). Mistakes — a syntax error, an unknown event name, metrics that are not
// numbers — are errors naming the file.

import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { UserError, suggest } from '../errors';
import { EVENTS, TrainerCallback } from './callbacks';
import { EvalPrediction, Metrics } from './metrics';

async function importModule(file: string): Promise<unknown> {
  if (!fs.existsSync(file)) throw new UserError(`${file}: module not found`);
  try {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    // An ES module's default export, or CommonJS module.exports (which import() puts under default).
    return mod.default ?? mod;
  } catch (e) {
    throw new UserError(`${file}: cannot load the module (${(e as Error).message.split('\n')[0]})`);
  }
}

function isClass(f: unknown): f is new () => unknown {
  return typeof f === 'function' && /^class\s/.test(Function.prototype.toString.call(f));
}

/** Loads a callback module; its handlers are named like Hugging Face's events (on_log, …). */
export async function loadCallbackModule(file: string): Promise<TrainerCallback> {
  let value = await importModule(file);
  if (isClass(value)) value = new value();
  else if (typeof value === 'function') value = (value as () => unknown)();
  if (!value || typeof value !== 'object') throw new UserError(`${file}: a callback module must export an object, a class or a factory of event handlers`);
  const cb: TrainerCallback = { name: file };
  const source = value as Record<string, unknown>;
  const keys = new Set([...Object.keys(source), ...Object.getOwnPropertyNames(Object.getPrototypeOf(source) ?? {})]);
  for (const key of keys) {
    if (key === 'constructor' || !key.startsWith('on_')) continue;
    if (!(EVENTS as readonly string[]).includes(key)) {
      const near = suggest(key, EVENTS);
      throw new UserError(`${file}: "${key}" is not a Trainer event${near ? `; did you mean "${near}"?` : ''}`);
    }
    const handler = source[key];
    if (typeof handler !== 'function') throw new UserError(`${file}: ${key} must be a function`);
    (cb as Record<string, unknown>)[key] = (handler as (...a: unknown[]) => unknown).bind(source);
  }
  if (Object.keys(cb).length === 1) throw new UserError(`${file}: no event handlers found (expected functions named ${EVENTS.slice(0, 3).join(', ')}, …)`);
  return cb;
}

export type ComputeMetrics = (p: EvalPrediction) => Promise<Metrics>;

/**
 * Loads compute_metrics: a function receiving { predictions, label_ids } — logits as arrays of
 * rows and the label ids — and returning a mapping of metric names to numbers.
 */
export async function loadComputeMetrics(file: string): Promise<ComputeMetrics> {
  let fn = await importModule(file);
  if (fn && typeof fn === 'object' && typeof (fn as Record<string, unknown>).compute_metrics === 'function') fn = (fn as Record<string, unknown>).compute_metrics;
  if (typeof fn !== 'function') throw new UserError(`${file}: must export a function (or a compute_metrics function) returning { metric: number }`);
  return async (p: EvalPrediction) => {
    const rows = Array.from({ length: p.n }, (_, i) => Array.from(p.predictions.subarray(i * p.width, (i + 1) * p.width)));
    const labels = p.labelIds.length === p.n ? Array.from(p.labelIds) : Array.from({ length: p.n }, (_, i) => Array.from(p.labelIds.subarray(i * p.width, (i + 1) * p.width)));
    const out = await (fn as (x: unknown) => unknown)({ predictions: rows, label_ids: labels });
    if (!out || typeof out !== 'object') throw new UserError(`${file}: compute_metrics returned ${JSON.stringify(out)}, expected { name: number }`);
    for (const [k, v] of Object.entries(out)) {
      if (typeof v !== 'number') throw new UserError(`${file}: compute_metrics returned "${k}": ${JSON.stringify(v)}, expected a number`);
    }
    return out as Metrics;
  };
}
