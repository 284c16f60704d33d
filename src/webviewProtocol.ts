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

/** One run (an output_dir) as the panel draws it: downsampled series, full data stays on disk. */
export interface PanelRun {
  id: string;
  label: string;
  status: RunStatus;
  progress: RunProgress | null;
  /** A one-line reason when the run failed or stopped. */
  message?: string;
  series: SeriesSet;
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
  | { type: 'focus'; runId: string };

export type WebviewToExtension =
  /** The webview's script is loaded and listening. */
  | { type: 'ready' }
  /** The user pressed Stop on a run. */
  | { type: 'stop'; runId: string };

/** What the webview keeps with vscode.setState; VS Code gives it back to the restored webview after a restart. */
export interface PanelState {
  visible?: string[];
}
