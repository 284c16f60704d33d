// Built-in metrics, computed from logits and label ids the way scikit-learn (which Hugging Face's
// `evaluate` wraps) computes them: accuracy, precision / recall / f1 (binary, macro, micro,
// weighted), Matthews correlation; mse, mae, r2 for regression; subset accuracy and micro /
// macro f1 for multi-label (a logit above 0 means the label is on).

import type { ProblemType } from '../programs/lossHeads';
import type { MaskFill } from './taskOutputs';

export interface EvalPrediction {
  /** Logits, row-major [n, width]. */
  predictions: Float32Array;
  /** Class ids (single-label) or target vectors, row-major [n, width]. */
  labelIds: Float64Array;
  n: number;
  width: number;
  /** Fill-mask predictions: the top-k fills of each row's masked positions. */
  fills?: MaskFill[][];
}

export type Metrics = Record<string, number>;

// The metrics' names live in the leaf module metricNames.ts (config/ checks them without this file).
export { ALL_METRICS, MULTI_LABEL_METRICS, REGRESSION_METRICS, SINGLE_LABEL_METRICS, builtinMetricNames, defaultMetrics } from '../metricNames';

export function argmaxRows(p: EvalPrediction): number[] {
  const out = new Array<number>(p.n);
  for (let i = 0; i < p.n; i++) {
    let best = 0;
    for (let c = 1; c < p.width; c++) if (p.predictions[i * p.width + c] > p.predictions[i * p.width + best]) best = c;
    out[i] = best;
  }
  return out;
}

const safeDiv = (a: number, b: number) => (b === 0 ? 0 : a / b);

interface Counts {
  tp: number[];
  fp: number[];
  fn: number[];
  support: number[];
}

function countsOf(pred: number[], gold: number[], classes: number): Counts {
  const c: Counts = { tp: new Array(classes).fill(0), fp: new Array(classes).fill(0), fn: new Array(classes).fill(0), support: new Array(classes).fill(0) };
  for (let i = 0; i < pred.length; i++) {
    c.support[gold[i]]++;
    if (pred[i] === gold[i]) c.tp[pred[i]]++;
    else {
      c.fp[pred[i]]++;
      c.fn[gold[i]]++;
    }
  }
  return c;
}

function prf(tp: number, fp: number, fn: number) {
  const precision = safeDiv(tp, tp + fp);
  const recall = safeDiv(tp, tp + fn);
  return { precision, recall, f1: safeDiv(2 * precision * recall, precision + recall) };
}

/** Averaged precision/recall/f1 over classes (sklearn's average= macro, weighted) or pooled (micro). */
function averaged(c: Counts, average: 'macro' | 'micro' | 'weighted') {
  if (average === 'micro') return prf(sum(c.tp), sum(c.fp), sum(c.fn));
  const per = c.tp.map((_, k) => prf(c.tp[k], c.fp[k], c.fn[k]));
  const total = sum(c.support);
  const weight = (k: number) => (average === 'macro' ? 1 / per.length : safeDiv(c.support[k], total));
  const avg = (key: 'precision' | 'recall' | 'f1') => per.reduce((acc, m, k) => acc + m[key] * weight(k), 0);
  return { precision: avg('precision'), recall: avg('recall'), f1: avg('f1') };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Multi-class Matthews correlation coefficient (sklearn's formula). */
function matthews(pred: number[], gold: number[], classes: number): number {
  const t = new Array(classes).fill(0);
  const p = new Array(classes).fill(0);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) {
    t[gold[i]]++;
    p[pred[i]]++;
    if (pred[i] === gold[i]) correct++;
  }
  const s = pred.length;
  const cov = correct * s - t.reduce((acc, tk, k) => acc + tk * p[k], 0);
  const den = Math.sqrt((s * s - t.reduce((a, x) => a + x * x, 0)) * (s * s - p.reduce((a, x) => a + x * x, 0)));
  return den === 0 ? 0 : cov / den;
}

export function singleLabelMetrics(ep: EvalPrediction, numLabels: number): Metrics {
  const pred = argmaxRows(ep);
  const gold = Array.from(ep.labelIds, (v) => v);
  const c = countsOf(pred, gold, numLabels);
  const m: Metrics = { accuracy: safeDiv(sum(c.tp), pred.length) };
  if (numLabels === 2) Object.assign(m, prf(c.tp[1], c.fp[1], c.fn[1]));
  for (const avg of ['macro', 'micro', 'weighted'] as const) {
    const r = averaged(c, avg);
    m[`f1_${avg}`] = r.f1;
    m[`precision_${avg}`] = r.precision;
    m[`recall_${avg}`] = r.recall;
  }
  m.matthews_correlation = matthews(pred, gold, numLabels);
  return m;
}

export function multiLabelMetrics(ep: EvalPrediction): Metrics {
  const { n, width } = ep;
  let exact = 0;
  let wrong = 0;
  const tp = new Array(width).fill(0);
  const fp = new Array(width).fill(0);
  const fn = new Array(width).fill(0);
  for (let i = 0; i < n; i++) {
    let all = true;
    for (let k = 0; k < width; k++) {
      const on = ep.predictions[i * width + k] > 0;
      const gold = ep.labelIds[i * width + k] > 0.5;
      if (on !== gold) {
        all = false;
        wrong++;
      }
      if (on && gold) tp[k]++;
      else if (on) fp[k]++;
      else if (gold) fn[k]++;
    }
    if (all) exact++;
  }
  const micro = prf(sum(tp), sum(fp), sum(fn));
  const per = tp.map((_, k) => prf(tp[k], fp[k], fn[k]));
  return {
    accuracy: safeDiv(exact, n),
    f1_micro: micro.f1,
    precision_micro: micro.precision,
    recall_micro: micro.recall,
    f1_macro: sum(per.map((x) => x.f1)) / width,
    hamming_loss: safeDiv(wrong, n * width),
  };
}

export function regressionMetrics(ep: EvalPrediction): Metrics {
  const count = ep.predictions.length;
  let se = 0;
  let ae = 0;
  let mean = 0;
  for (let i = 0; i < count; i++) mean += ep.labelIds[i];
  mean /= count;
  let tot = 0;
  for (let i = 0; i < count; i++) {
    const d = ep.predictions[i] - ep.labelIds[i];
    se += d * d;
    ae += Math.abs(d);
    tot += (ep.labelIds[i] - mean) ** 2;
  }
  return { mse: se / count, mae: ae / count, r2: tot === 0 ? 0 : 1 - se / tot };
}

export function builtinMetrics(problem: ProblemType, numLabels: number, ep: EvalPrediction): Metrics {
  if (problem === 'regression') return regressionMetrics(ep);
  if (problem === 'multi_label_classification') return multiLabelMetrics(ep);
  return singleLabelMetrics(ep, numLabels);
}
