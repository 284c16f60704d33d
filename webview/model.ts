// The metrics panel's state and the pure logic that turns it into what is drawn: which charts,
// which lines in which colours, the progress text. No DOM here: unit tests run it in Node, and
// main.ts does the drawing.

import { assertNever } from '../src/protocol';
import type { ExtensionToWebview, PanelRun, Point, RunProgress } from '../src/webviewProtocol';

export interface Model {
  /** Runs by id, in the order the extension listed them. */
  runs: Map<string, PanelRun>;
  /** Runs drawn; undefined means all of them (the default until the user unticks one). */
  visible: Set<string> | undefined;
}

export function emptyModel(visible?: string[]): Model {
  return { runs: new Map(), visible: visible ? new Set(visible) : undefined };
}

/** Applies one message from the extension; returns whether anything drawn changed. */
export function reduce(model: Model, msg: ExtensionToWebview): boolean {
  switch (msg.type) {
    case 'snapshot': {
      model.runs = new Map(msg.runs.map((r) => [r.id, r]));
      if (msg.focus) show(model, msg.focus);
      return true;
    }
    case 'run':
      model.runs.set(msg.run.id, msg.run);
      return true;
    case 'append': {
      const run = model.runs.get(msg.runId);
      if (!run) return false;
      for (const [metric, points] of Object.entries(msg.series)) {
        const into = (run.series[metric] ??= []);
        for (const p of points) into.push(p);
      }
      return true;
    }
    case 'status': {
      const run = model.runs.get(msg.runId);
      if (!run) return false;
      run.status = msg.status;
      run.progress = msg.progress;
      run.message = msg.message;
      return true;
    }
    case 'focus':
      show(model, msg.runId);
      return true;
    case 'evalReport': {
      const run = model.runs.get(msg.runId);
      if (!run) return false;
      run.evalReport = msg.report;
      return true;
    }
    default:
      return assertNever(msg);
  }
}

function show(model: Model, runId: string) {
  if (model.visible) model.visible.add(runId);
}

export function isVisible(model: Model, runId: string): boolean {
  return !model.visible || model.visible.has(runId);
}

/** Ticks or unticks a run; returns the ids now drawn (kept in the webview's state). */
export function setVisible(model: Model, runId: string, on: boolean): string[] {
  const vis = model.visible ?? new Set(model.runs.keys());
  if (on) vis.add(runId);
  else vis.delete(runId);
  model.visible = vis;
  return [...vis];
}

const FIRST = ['loss', 'eval_loss', 'learning_rate', 'grad_norm'];

/** The charts to draw, one per metric any drawn run has: losses first, then the rest by name. */
export function metricNames(model: Model): string[] {
  const names = new Set<string>();
  for (const run of model.runs.values()) {
    if (!isVisible(model, run.id)) continue;
    for (const [k, pts] of Object.entries(run.series)) if (pts.length) names.add(k);
  }
  const first = FIRST.filter((k) => names.has(k));
  const rest = [...names].filter((k) => !FIRST.includes(k)).sort();
  return [...first, ...rest];
}

/** A chart's title for a metric name. */
export function metricTitle(metric: string): string {
  const known: Record<string, string> = { loss: 'Training loss', eval_loss: 'Evaluation loss', learning_rate: 'Learning rate', grad_norm: 'Gradient norm' };
  return known[metric] ?? `Evaluation ${metric.replace(/^eval_/, '').replace(/_/g, ' ')}`;
}

export interface Line {
  runId: string;
  label: string;
  color: string;
  points: Point[];
}

/** The lines of one metric's chart: one per drawn run that has the metric, each run in its own colour. */
export function linesOf(model: Model, metric: string, palette: readonly string[]): Line[] {
  const out: Line[] = [];
  let i = 0;
  for (const run of model.runs.values()) {
    const color = palette[i++ % palette.length];
    if (!isVisible(model, run.id)) continue;
    const points = run.series[metric];
    if (points?.length) out.push({ runId: run.id, label: run.label, color, points });
  }
  return out;
}

/** A run's colour: its position among all runs, so ticking others never recolours it. */
export function colorOf(model: Model, runId: string, palette: readonly string[]): string {
  const i = [...model.runs.keys()].indexOf(runId);
  return palette[Math.max(i, 0) % palette.length];
}

/** "1:02:03", "4:05", "0:09". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "1,234" for rates; fewer digits for small values. */
export function formatRate(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

/** The line under a run's progress bar. */
export function progressText(p: RunProgress): string {
  const parts = [`step ${p.step}/${p.maxSteps}`, `epoch ${p.epoch.toFixed(2)}`];
  if (p.loss !== null && Number.isFinite(p.loss)) parts.push(`loss ${p.loss.toPrecision(4)}`);
  if (p.samplesPerSecond > 0) parts.push(`${formatRate(p.samplesPerSecond)} samples/s`);
  if (p.etaSeconds !== null && Number.isFinite(p.etaSeconds)) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  if (p.startStep > 0) parts.push(`resumed at step ${p.startStep}`);
  return parts.join(' · ');
}

/** Percent done, 0–100. */
export function percent(p: RunProgress): number {
  return p.maxSteps > 0 ? Math.min(100, (100 * p.step) / p.maxSteps) : 0;
}

/** Status words for a run's row. */
export function statusText(run: PanelRun): string {
  switch (run.status) {
    case 'idle':
      return '';
    case 'starting':
      return 'starting…';
    case 'running':
      return 'training';
    case 'stopping':
      return 'stopping…';
    case 'finished':
      return 'finished';
    case 'stopped':
      return 'stopped';
    case 'failed':
      return 'failed';
  }
}
