// The metrics panel (browser side): one chart.js line chart per metric, each run a line in its
// own theme colour, a progress bar with ETA and samples/s for running runs, and the run list to
// choose which runs are overlaid. Says `ready` first; the extension answers with a snapshot,
// then deltas. Drawing waits for the next animation frame, so a burst of messages is one redraw.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import {
  CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, LogarithmicScale, PointElement, Tooltip,
} from 'chart.js';
import type { ExtensionToWebview, PanelState, WebviewToExtension } from '../src/webviewProtocol';
import { renderEvalReport } from './evalReportView';
import { Model, colorOf, emptyModel, isVisible, linesOf, metricNames, metricTitle, percent, progressText, reduce, setVisible, statusText } from './model';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Legend, Tooltip);

interface VsCodeApi {
  postMessage(msg: WebviewToExtension): void;
  getState(): PanelState | undefined;
  setState(state: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const model: Model = emptyModel(vscode.getState()?.visible);
const charts = new Map<string, Chart<'line'>>();
const $ = (id: string) => document.getElementById(id)!;

function post(msg: WebviewToExtension) {
  vscode.postMessage(msg);
}

/** Colours from the VS Code theme (its chart palette), read again when the theme changes. */
interface Theme {
  palette: string[];
  foreground: string;
  grid: string;
  font: string;
}

function readTheme(): Theme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    palette: [
      v('--vscode-charts-blue', '#3794ff'), v('--vscode-charts-orange', '#d18616'), v('--vscode-charts-green', '#89d185'),
      v('--vscode-charts-purple', '#b180d7'), v('--vscode-charts-red', '#f14c4c'), v('--vscode-charts-yellow', '#cca700'),
    ],
    foreground: v('--vscode-charts-foreground', v('--vscode-foreground', '#cccccc')),
    grid: v('--vscode-charts-lines', 'rgba(128,128,128,0.25)'),
    font: v('--vscode-font-family', 'sans-serif'),
  };
}

let theme = readTheme();

function chartFor(metric: string): Chart<'line'> {
  let chart = charts.get(metric);
  if (chart) return chart;
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset.metric = metric;
  const caption = document.createElement('figcaption');
  caption.textContent = metricTitle(metric);
  const box = document.createElement('div');
  box.className = 'canvas-box';
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', metricTitle(metric));
  box.append(canvas);
  figure.append(caption, box);
  $('charts').append(figure);
  chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      normalized: true,
      spanGaps: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { line: { borderWidth: 1.5, tension: 0 }, point: { radius: 0, hitRadius: 6 } },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { maxTicksLimit: 8 } },
        y: { type: 'linear', ticks: { maxTicksLimit: 6 } },
      },
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => `step ${items[0]?.parsed.x}` } } },
    },
  });
  styleChart(chart);
  charts.set(metric, chart);
  return chart;
}

function styleChart(chart: Chart<'line'>) {
  Chart.defaults.color = theme.foreground;
  Chart.defaults.font.family = theme.font;
  for (const axis of ['x', 'y'] as const) {
    const scale = chart.options.scales?.[axis];
    if (!scale) continue;
    scale.grid = { color: theme.grid };
    scale.ticks = { ...scale.ticks, color: theme.foreground };
    if ('title' in scale && scale.title) scale.title.color = theme.foreground;
  }
}

function drawCharts() {
  const metrics = metricNames(model);
  for (const [metric, chart] of charts) {
    if (metrics.includes(metric)) continue;
    chart.destroy();
    charts.delete(metric);
    document.querySelector(`figure[data-metric="${CSS.escape(metric)}"]`)?.remove();
  }
  for (const metric of metrics) {
    const chart = chartFor(metric);
    const lines = linesOf(model, metric, theme.palette);
    const sparse = metric.startsWith('eval_');
    chart.data.datasets = lines.map((l) => ({
      label: l.label,
      data: l.points.map(([x, y]) => ({ x, y })),
      borderColor: l.color,
      backgroundColor: l.color,
      pointRadius: sparse && l.points.length < 200 ? 2.5 : 0,
    }));
    chart.options.plugins!.legend!.display = lines.length > 1;
    chart.update('none');
  }
  // Charts keep their order: losses first, then metrics by name.
  const box = $('charts');
  for (const metric of metrics) {
    const fig = box.querySelector(`figure[data-metric="${CSS.escape(metric)}"]`);
    if (fig) box.append(fig);
  }
  $('empty').hidden = metrics.length > 0;
}

function drawRuns() {
  const list = $('runs');
  const ids = [...model.runs.keys()];
  // Rebuilding rows only when the set of runs changes keeps checkbox focus while training.
  if (list.dataset.ids !== ids.join('\n')) {
    list.replaceChildren();
    for (const run of model.runs.values()) {
      const row = document.createElement('div');
      row.className = 'run';
      row.dataset.runId = run.id;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      const box = document.createElement('vscode-checkbox');
      box.label = run.label;
      box.addEventListener('change', () => {
        const visible = setVisible(model, run.id, box.checked);
        vscode.setState({ visible });
        schedule();
      });
      const status = document.createElement('span');
      status.className = 'status';
      const progress = document.createElement('div');
      progress.className = 'progress';
      const bar = document.createElement('vscode-progress-bar');
      const text = document.createElement('span');
      text.className = 'progress-text';
      const stop = document.createElement('vscode-button');
      stop.secondary = true;
      stop.textContent = 'Stop';
      stop.addEventListener('click', () => post({ type: 'stop', runId: run.id }));
      progress.append(bar, text, stop);
      row.append(swatch, box, status, progress);
      list.append(row);
    }
    list.dataset.ids = ids.join('\n');
  }
  for (const row of list.querySelectorAll<HTMLElement>('.run')) {
    const run = model.runs.get(row.dataset.runId!);
    if (!run) continue;
    (row.querySelector('.swatch') as HTMLElement).style.background = colorOf(model, run.id, theme.palette);
    const box = row.querySelector('vscode-checkbox')!;
    box.checked = isVisible(model, run.id);
    const status = row.querySelector('.status') as HTMLElement;
    status.textContent = statusText(run) + (run.message && (run.status === 'failed' || run.status === 'stopped') ? `: ${run.message}` : '');
    status.dataset.status = run.status;
    row.dataset.status = run.status;
    const live = run.status === 'running' || run.status === 'starting' || run.status === 'stopping';
    const progress = row.querySelector('.progress') as HTMLElement;
    progress.hidden = !live;
    const bar = row.querySelector('vscode-progress-bar')!;
    const text = row.querySelector('.progress-text') as HTMLElement;
    if (run.progress && run.progress.maxSteps > 0) {
      bar.indeterminate = false;
      bar.max = 100;
      bar.value = percent(run.progress);
      text.textContent = progressText(run.progress);
    } else {
      bar.indeterminate = true;
      text.textContent = run.status === 'starting' ? 'preparing…' : '';
    }
    (row.querySelector('vscode-button') as HTMLElement).hidden = run.status !== 'running';
  }
}

/** The evaluation report drawn per run, so a redraw rebuilds a section only when its report changed. */
const drawnReports = new Map<string, unknown>();

function drawReports() {
  const box = $('reports');
  for (const run of model.runs.values()) {
    const report = isVisible(model, run.id) ? run.evalReport : undefined;
    if (drawnReports.get(run.id) === report) continue;
    box.querySelector(`[data-run-id="${CSS.escape(run.id)}"]`)?.remove();
    drawnReports.set(run.id, report);
    if (!report) continue;
    const section = renderEvalReport(run.label, report, (index) => post({ type: 'openExample', runId: run.id, index }));
    section.dataset.runId = run.id;
    box.append(section);
  }
  for (const id of [...drawnReports.keys()]) {
    if (model.runs.has(id)) continue;
    box.querySelector(`[data-run-id="${CSS.escape(id)}"]`)?.remove();
    drawnReports.delete(id);
  }
}

let frame = 0;
function schedule() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    drawRuns();
    drawCharts();
    drawReports();
  });
}

window.addEventListener('message', (event: MessageEvent<ExtensionToWebview>) => {
  if (reduce(model, event.data)) schedule();
});

// A theme change rewrites the body's class: read the colours again and redraw.
new MutationObserver(() => {
  theme = readTheme();
  for (const chart of charts.values()) styleChart(chart);
  schedule();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

/** Read-only access for the end-to-end tests, which check what the charts hold. */
(window as unknown as { __trainerPanel: unknown }).__trainerPanel = {
  metrics: () => [...charts.keys()],
  lines: (metric: string) => charts.get(metric)?.data.datasets.map((d) => ({ label: d.label, points: (d.data as { x: number; y: number }[]).map((p) => [p.x, p.y]) })) ?? [],
};

post({ type: 'ready' });
