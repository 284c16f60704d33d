// Built-in metrics of the tasks beyond sequence classification, with the names Hugging Face's
// example scripts report: token classification's seqeval entity precision / recall / F1 and token
// accuracy (run_ner), question answering's exact match and F1 in percent (the squad metric),
// perplexity for language models (run_clm, run_mlm) and masked-token accuracy (run_mlm).

import { IGNORE_INDEX, Task } from '../programs/tasks';
import type { EvalPrediction, Metrics } from './metrics';
import { seqevalScores } from './seqeval';
import type { Dataset } from '../data/dataset';
import { answerText, squadScores } from '../data/squad';

export { TASK_METRICS, taskMetricNames } from '../metricNames';

/**
 * A task's metrics. Token-level predictions are predicted ids per token and question answering's
 * the best [start, end] span, with labels laid out alike (eval loop, taskOutputs.ts).
 */
export function taskMetrics(task: Exclude<Task, 'text-classification'>, p: EvalPrediction, loss: number | undefined, names?: string[]): Metrics {
  const perplexity: Metrics = loss === undefined ? {} : { perplexity: Math.exp(loss) };
  switch (task) {
    case 'token-classification':
      return tagMetrics(p, names);
    case 'question-answering':
      return spanMetrics(p);
    case 'text-generation':
      return perplexity;
    case 'fill-mask':
      return { accuracy: maskedAccuracy(p), ...perplexity };
  }
}

/** Tag sequences of the positions whose label is not -100, as run_ner's compute_metrics builds them. */
function tagMetrics(p: EvalPrediction, names?: string[]): Metrics {
  const tag = (id: number) => names?.[id] ?? `LABEL_${id}`;
  const predicted: string[][] = [];
  const gold: string[][] = [];
  for (let i = 0; i < p.n; i++) {
    const pr: string[] = [];
    const gl: string[] = [];
    for (let j = 0; j < p.width; j++) {
      const label = p.labelIds[i * p.width + j];
      if (label === IGNORE_INDEX) continue;
      pr.push(tag(p.predictions[i * p.width + j]));
      gl.push(tag(label));
    }
    predicted.push(pr);
    gold.push(gl);
  }
  return seqevalScores(predicted, gold);
}

function maskedAccuracy(p: EvalPrediction): number {
  let total = 0;
  let right = 0;
  p.labelIds.forEach((label, k) => {
    if (label === IGNORE_INDEX) return;
    total++;
    if (p.predictions[k] === label) right++;
  });
  return total ? right / total : 0;
}

/** SQuAD's exact match and token-overlap F1 (in percent), over token spans [start, end]. */
function spanMetrics(p: EvalPrediction): Metrics {
  let exact = 0;
  let f1 = 0;
  for (let i = 0; i < p.n; i++) {
    const [ps, pe] = [p.predictions[2 * i], p.predictions[2 * i + 1]];
    const [gs, ge] = [p.labelIds[2 * i], p.labelIds[2 * i + 1]];
    if (ps === gs && pe === ge) exact++;
    const overlap = Math.max(0, Math.min(pe, ge) - Math.max(ps, gs) + 1);
    if (overlap > 0) {
      const precision = overlap / (pe - ps + 1);
      const recall = overlap / (ge - gs + 1);
      f1 += (2 * precision * recall) / (precision + recall);
    }
  }
  return { exact_match: (100 * exact) / Math.max(p.n, 1), f1: (100 * f1) / Math.max(p.n, 1) };
}

/** SQuAD's exact match and F1 (percent) over the answer text each predicted span selects in its context. */
export function squadTextMetrics(data: Dataset, p: EvalPrediction): Metrics {
  let exact = 0;
  let f1 = 0;
  for (let i = 0; i < p.n; i++) {
    const e = data.example(i);
    const text = answerText(e.qa!, e.wordIds ?? [], p.predictions[2 * i], p.predictions[2 * i + 1]);
    const s = squadScores(text, e.qa!.answers.length ? e.qa!.answers : ['']);
    exact += s.exact;
    f1 += s.f1;
  }
  return { exact_match: (100 * exact) / Math.max(p.n, 1), f1: (100 * f1) / Math.max(p.n, 1) };
}
