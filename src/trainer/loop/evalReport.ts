// Where a classification model errs: the confusion matrix, sklearn's classification_report
// (per-class precision / recall / F1 / support, zero division → 0, macro and weighted averages)
// and the misclassified examples with the data file and line each came from. `onnx-trainer
// evaluate` writes it as eval_report.json in the run directory, where the extension's panel reads it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurably } from '../io/durable';
import type { ProblemType } from '../programs/lossHeads';
import { EVAL_REPORT_FILE } from '../runDirectory';
import { EvalPrediction, argmaxRows } from './metrics';

/** At most this many misclassified examples are stored (the most confident mistakes first). */
export const MISCLASSIFIED_CAP = 1000;

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Misclassified {
  /** 1-based line of the data file (JSONL, CSV) or record number (JSON array, Parquet): see `position`. */
  line: number;
  /** Single-label: one id; multi-label: the ids that apply (for predictions: whose logit is above 0). */
  true_label: number | number[];
  true_label_name: string;
  predicted_label: number | number[];
  predicted_label_name: string;
  /** Softmax probability of the predicted class (single-label only). */
  probability?: number;
  /** Image data: the image file (the panel opens it, rather than a line of a data file). */
  image?: string;
}

export interface EvalReport {
  problem_type: ProblemType;
  /** The evaluated weights: a checkpoint folder's name, or null for the final model in output_dir. */
  checkpoint: string | null;
  data_file: string;
  /** Whether `line` is a line of the file (JSONL, CSV) or a record's number (JSON array, Parquet). */
  position: 'line' | 'record';
  num_samples: number;
  labels: string[];
  /** Rows are true labels, columns predicted labels (sklearn's confusion_matrix). Single-label only. */
  confusion_matrix?: number[][];
  per_class: ClassScores[];
  accuracy: number;
  macro_avg: Omit<ClassScores, 'label'>;
  weighted_avg: Omit<ClassScores, 'label'>;
  misclassified: Misclassified[];
  /** How many examples were misclassified in all (misclassified holds at most MISCLASSIFIED_CAP). */
  misclassified_total: number;
}

export interface ReportSource {
  problemType: ProblemType;
  numLabels: number;
  names?: string[];
  dataFile: string;
  /** The data line (or record number) of an evaluated row; asked only of misclassified rows. */
  lineOf: (row: number) => number;
  /** Image data: the image file of an evaluated row. */
  imageOf?: (row: number) => string | undefined;
  checkpoint: string | null;
}

type Where = Pick<Misclassified, 'line' | 'image'>;

const safeDiv = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Per-class scores from true-positive, false-positive and false-negative counts. */
function scores(label: string, tp: number, fp: number, fn: number, support: number): ClassScores {
  const precision = safeDiv(tp, tp + fp);
  const recall = safeDiv(tp, tp + fn);
  return { label, precision, recall, f1: safeDiv(2 * precision * recall, precision + recall), support };
}

function averages(per: ClassScores[]): { macro: Omit<ClassScores, 'label'>; weighted: Omit<ClassScores, 'label'> } {
  const total = per.reduce((a, c) => a + c.support, 0);
  const avg = (weight: (c: ClassScores) => number) => ({
    precision: per.reduce((a, c) => a + weight(c) * c.precision, 0),
    recall: per.reduce((a, c) => a + weight(c) * c.recall, 0),
    f1: per.reduce((a, c) => a + weight(c) * c.f1, 0),
    support: total,
  });
  return { macro: avg(() => 1 / per.length), weighted: avg((c) => safeDiv(c.support, total)) };
}

/** Probability of class `k` in row `i` by a numerically stable softmax over the row's logits. */
function softmaxAt(p: EvalPrediction, i: number, k: number): number {
  const row = p.predictions.subarray(i * p.width, (i + 1) * p.width);
  const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
  const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
  return Math.exp(row[k] - max) / sum;
}

/** Whether the report applies: single- and multi-label classification; not regression or token tasks. */
export function reportApplies(problemType: ProblemType, task: string | undefined): boolean {
  return (task ?? 'text-classification') === 'text-classification' && problemType !== 'regression';
}

/** The report of one evaluation's logits and label ids. */
export function evalReport(p: EvalPrediction, src: ReportSource): EvalReport {
  const names = Array.from({ length: src.numLabels }, (_, k) => src.names?.[k] ?? `LABEL_${k}`);
  const multi = src.problemType === 'multi_label_classification';
  const base = {
    problem_type: src.problemType, checkpoint: src.checkpoint, data_file: src.dataFile,
    position: /\.(jsonl|csv)$/i.test(src.dataFile) ? 'line' as const : 'record' as const, num_samples: p.n, labels: names,
  };
  // Where a misclassified row is: its line, and its image file for image data.
  const where = (i: number): Where => {
    const image = src.imageOf?.(i);
    return image ? { line: src.lineOf(i), image } : { line: src.lineOf(i) };
  };
  return multi ? { ...base, ...multiLabel(p, names, where) } : { ...base, ...singleLabel(p, names, where) };
}

function singleLabel(p: EvalPrediction, names: string[], where: (row: number) => Where) {
  const k = names.length;
  const pred = argmaxRows(p);
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const wrong: Misclassified[] = [];
  for (let i = 0; i < p.n; i++) {
    const t = p.labelIds[i];
    matrix[t][pred[i]]++;
    if (t !== pred[i]) {
      wrong.push({ ...where(i), true_label: t, true_label_name: names[t], predicted_label: pred[i], predicted_label_name: names[pred[i]], probability: softmaxAt(p, i, pred[i]) });
    }
  }
  const per = names.map((name, c) => {
    const column = matrix.reduce((a, row) => a + row[c], 0);
    const support = matrix[c].reduce((a, v) => a + v, 0);
    return scores(name, matrix[c][c], column - matrix[c][c], support - matrix[c][c], support);
  });
  const correct = matrix.reduce((a, row, c) => a + row[c], 0);
  const { macro, weighted } = averages(per);
  // The most confident mistakes say most about the model; file order breaks ties.
  wrong.sort((a, b) => b.probability! - a.probability! || a.line - b.line);
  return { confusion_matrix: matrix, per_class: per, accuracy: safeDiv(correct, p.n), macro_avg: macro, weighted_avg: weighted,
    misclassified: wrong.slice(0, MISCLASSIFIED_CAP), misclassified_total: wrong.length };
}

/** Multi-label: per-label scores (a logit above 0 means on); a row is misclassified when any label differs. */
function multiLabel(p: EvalPrediction, names: string[], where: (row: number) => Where) {
  const k = names.length;
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  const wrong: Misclassified[] = [];
  let exact = 0;
  for (let i = 0; i < p.n; i++) {
    const on: number[] = [];
    const gold: number[] = [];
    for (let c = 0; c < k; c++) {
      const predicted = p.predictions[i * k + c] > 0;
      const truth = p.labelIds[i * k + c] > 0.5;
      if (predicted) on.push(c);
      if (truth) gold.push(c);
      if (predicted && truth) tp[c]++;
      else if (predicted) fp[c]++;
      else if (truth) fn[c]++;
    }
    if (on.join() === gold.join()) exact++;
    else {
      const named = (ids: number[]) => (ids.length ? ids.map((c) => names[c]).join(', ') : '(none)');
      wrong.push({ ...where(i), true_label: gold, true_label_name: named(gold), predicted_label: on, predicted_label_name: named(on) });
    }
  }
  const per = names.map((name, c) => scores(name, tp[c], fp[c], fn[c], tp[c] + fn[c]));
  const { macro, weighted } = averages(per);
  return { per_class: per, accuracy: safeDiv(exact, p.n), macro_avg: macro, weighted_avg: weighted,
    misclassified: wrong.slice(0, MISCLASSIFIED_CAP), misclassified_total: wrong.length };
}

/** Writes output_dir/eval_report.json durably. */
export function writeEvalReport(outputDir: string, report: EvalReport): string {
  fs.mkdirSync(outputDir, { recursive: true });
  const file = path.join(outputDir, EVAL_REPORT_FILE);
  writeFileDurably(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}
