// Writes predict() output as JSONL: per sample its logits, the predicted label (and its name),
// and the label id when the data had one; the other tasks' records come from taskPredictions.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../data/dataset';
import type { ProblemType } from '../programs/lossHeads';
import { EvalPrediction, argmaxRows } from './metrics';
import { writeFileDurably } from '../io/durable';

export function predictionRecords(data: Dataset, p: EvalPrediction, problem: ProblemType, names?: string[]): Record<string, unknown>[] {
  const top = problem === 'single_label_classification' ? argmaxRows(p) : undefined;
  return Array.from({ length: p.n }, (_, i) => {
    const logits = Array.from(p.predictions.subarray(i * p.width, (i + 1) * p.width));
    const example = data.example(i);
    const rec: Record<string, unknown> = { line: example.line, logits };
    if (top) {
      rec.predicted_label = top[i];
      rec.predicted_label_name = names?.[top[i]] ?? `LABEL_${top[i]}`;
    } else if (problem === 'multi_label_classification') {
      rec.predicted_labels = logits.map((v, k) => (v > 0 ? k : -1)).filter((k) => k >= 0);
      if (names) rec.predicted_label_names = (rec.predicted_labels as number[]).map((k) => names[k]);
    } else {
      rec.prediction = logits.length === 1 ? logits[0] : logits;
    }
    const label = example.label;
    if (label !== undefined) rec.label = label;
    return rec;
  });
}

export function writePredictions(file: string, data: Dataset, p: EvalPrediction, problem: ProblemType, names?: string[]): void {
  writeJsonl(file, predictionRecords(data, p, problem, names));
}

/** Writes records as JSONL durably (temporary file, fsync, rename). */
export function writeJsonl(file: string, records: readonly Record<string, unknown>[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileDurably(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
