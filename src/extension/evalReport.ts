// Reads a run directory's eval_report.json (written by `onnx-trainer evaluate`) into what the
// metrics panel shows, keeping the data file's full path and each misclassified example's line
// here, so that a click in the webview names only an index. No `vscode` import: unit-tested.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVAL_REPORT_FILE } from '../trainer/runDirectory';
import type { PanelEvalReport } from '../webviewProtocol';

/** The panel's view of a report, and where its examples live on disk. */
export interface LoadedEvalReport {
  view: PanelEvalReport;
  dataFile: string;
  /** Line (or record number) of each misclassified example, by index. */
  lines: number[];
  /** Image data: the image file of each misclassified example, by index. */
  images: (string | undefined)[];
}

/** The panel lists at most this many misclassified examples (the file may hold more). */
export const PANEL_EXAMPLES = 200;

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => !!x && typeof x === 'object' && !Array.isArray(x);
const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);

/** The report in `outputDir`, or undefined when there is none or it is not a report this version reads. */
export function readEvalReport(outputDir: string): LoadedEvalReport | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(outputDir, EVAL_REPORT_FILE), 'utf8'));
  } catch {
    // Missing (no evaluation yet) or unreadable: the panel simply shows no report.
    return undefined;
  }
  if (!isObject(raw) || typeof raw.data_file !== 'string' || !Array.isArray(raw.labels) || !Array.isArray(raw.per_class)) return undefined;
  const dataFile = path.resolve(outputDir, raw.data_file);
  const wrong = (Array.isArray(raw.misclassified) ? raw.misclassified : []).filter(isObject);
  const matrix = Array.isArray(raw.confusion_matrix) ? (raw.confusion_matrix as unknown[][]).map((row) => row.map(num)) : undefined;
  const avgF1 = (x: unknown) => (isObject(x) ? num(x.f1) : 0);
  const view: PanelEvalReport = {
    checkpoint: typeof raw.checkpoint === 'string' ? raw.checkpoint : null,
    dataFile: path.basename(dataFile),
    position: raw.position === 'record' ? 'record' : 'line',
    numSamples: num(raw.num_samples),
    labels: raw.labels.map(String),
    confusionMatrix: matrix,
    perClass: raw.per_class.filter(isObject).map((c) => ({ label: String(c.label), precision: num(c.precision), recall: num(c.recall), f1: num(c.f1), support: num(c.support) })),
    accuracy: num(raw.accuracy),
    macroF1: avgF1(raw.macro_avg),
    weightedF1: avgF1(raw.weighted_avg),
    misclassified: wrong.slice(0, PANEL_EXAMPLES).map((m, index) => ({
      index, line: num(m.line), trueLabel: String(m.true_label_name), predictedLabel: String(m.predicted_label_name),
      probability: typeof m.probability === 'number' ? m.probability : undefined,
      ...(typeof m.image === 'string' ? { image: path.basename(m.image) } : {}),
    })),
    misclassifiedTotal: num(raw.misclassified_total),
  };
  return { view, dataFile, lines: wrong.map((m) => num(m.line)), images: wrong.map((m) => (typeof m.image === 'string' ? m.image : undefined)) };
}
