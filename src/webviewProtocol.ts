// The messages between the extension and the metrics panel's webview: one discriminated union per
// direction, imported by both sides (src/extension/metricsPanel.ts and webview/main.ts) and
// handled there by exhaustive switches. The webview says `ready` first; the extension answers
// with a snapshot, then sends deltas. No logic lives here.

/** One point of a chart: [global step, value]. */
export type Point = [number, number];

/** Series of one run by metric name ("loss", "learning_rate", "grad_norm", "eval_accuracy"…). */
export type SeriesSet = Record<string, Point[]>;

/** Where a run stands, as the panel, the tree and the status bar show it. */
export type RunStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'finished' | 'stopped' | 'failed';

export interface RunProgress {
  step: number;
  maxSteps: number;
  epoch: number;
  samplesPerSecond: number;
  etaSeconds: number | null;
  loss: number | null;
  /** The step this process started from (above 0 when it resumed from a checkpoint). */
  startStep: number;
}

/** A misclassified example as the panel lists it; `index` is its place in eval_report.json's list. */
export interface PanelMisclassified {
  index: number;
  line: number;
  trueLabel: string;
  predictedLabel: string;
  probability?: number;
  /** Image data: the image's file name (clicking opens the image). */
  image?: string;
}

/** What the panel shows of a run's eval_report.json (where a classifier errs). */
export interface PanelEvalReport {
  /** The evaluated checkpoint's folder, or null for the final model. */
  checkpoint: string | null;
  /** The eval data file's name (the extension keeps the full path). */
  dataFile: string;
  position: 'line' | 'record';
  numSamples: number;
  labels: string[];
  /** Rows: true label; columns: predicted label. Absent for multi-label. */
  confusionMatrix?: number[][];
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  misclassified: PanelMisclassified[];
  misclassifiedTotal: number;
}

/** One run (an output_dir) as the panel draws it: downsampled series, full data stays on disk. */
export interface PanelRun {
  id: string;
  label: string;
  status: RunStatus;
  progress: RunProgress | null;
  /** A one-line reason when the run failed or stopped. */
  message?: string;
  series: SeriesSet;
  /** The last `onnx-trainer evaluate`'s report, when the run directory has one. */
  evalReport?: PanelEvalReport;
}

export type ExtensionToWebview =
  /** Everything the panel shows; sent in answer to `ready`. */
  | { type: 'snapshot'; runs: PanelRun[]; focus?: string }
  /** A run's data replaced (new run, history rewritten by a resume, or re-downsampled). */
  | { type: 'run'; run: PanelRun }
  /** Points appended to a run's series since the last message. */
  | { type: 'append'; runId: string; series: SeriesSet }
  /** A run's status or progress changed. */
  | { type: 'status'; runId: string; status: RunStatus; progress: RunProgress | null; message?: string }
  /** Show this run (and make sure it is drawn). */
  | { type: 'focus'; runId: string }
  /** A run's eval_report.json was written or removed. */
  | { type: 'evalReport'; runId: string; report?: PanelEvalReport };

export type WebviewToExtension =
  /** The webview's script is loaded and listening. */
  | { type: 'ready' }
  /** The user pressed Stop on a run. */
  | { type: 'stop'; runId: string }
  /** The user clicked a misclassified example: open the data file at its line. */
  | { type: 'openExample'; runId: string; index: number };

/** What the webview keeps with vscode.setState; VS Code gives it back to the restored webview after a restart. */
export interface PanelState {
  visible?: string[];
}
