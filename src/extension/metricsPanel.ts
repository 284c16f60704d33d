// The metrics panel (extension side): a webview showing every run's charts, live while training
// and rebuilt from the run directories after a restart (the serializer restores an open panel).
// The webview says `ready`; then it gets a snapshot, then deltas. Series are downsampled for the
// display; the full history stays on disk.

import * as vscode from 'vscode';
import { assertNever } from '../protocol';
import type { ExtensionToWebview, PanelRun, SeriesSet, WebviewToExtension } from '../webviewProtocol';
import { DisposableStore } from './events';
import { webviewPage } from './webviewPage';
import type { LoadedEvalReport } from './evalReport';
import type { Run, RunRegistry } from './registry';
import { POINT_BUDGET, downsampleSet, seriesOf } from './series';

export const PANEL_VIEW_TYPE = 'trainer.metrics';

/** The panel's page: a strict Content-Security-Policy; only the bundled script and stylesheet load. */
export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewPage(webview, extensionUri, {
    title: 'Trainer Metrics',
    script: 'main.js',
    body: `<h1>Training metrics</h1>
<section id="runs" aria-label="Runs"></section>
<p id="empty">No logged metrics yet. Start training from a config's "▶ Start Training" lens; charts appear with the first log entry.</p>
<main id="charts"></main>
<div id="reports"></div>`,
  });
}

/** The one metrics panel (opened again, it is revealed and focused on the run asked for). */
export class MetricsPanels implements vscode.Disposable {
  private current: MetricsPanel | undefined;
  private readonly store = new DisposableStore();

  constructor(private readonly extensionUri: vscode.Uri, private readonly registry: RunRegistry) {
    // After a restart VS Code recreates an open panel; the webview reads back which runs were
    // ticked from its own state (PanelState), so only the page and the subscriptions are rebuilt.
    this.store.add(vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
        await this.registry.ready;
        this.adopt(panel);
      },
    }));
  }

  get panel(): MetricsPanel | undefined {
    return this.current;
  }

  /** Opens (or reveals) the panel, showing `runId` if given. */
  open(runId?: string, beside = false): MetricsPanel {
    if (this.current) {
      this.current.reveal(runId, beside);
      return this.current;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Trainer Metrics', { viewColumn: beside ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus: beside }, this.options());
    return this.adopt(panel, runId);
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')],
    };
  }

  private adopt(panel: vscode.WebviewPanel, focus?: string): MetricsPanel {
    this.current?.dispose();
    panel.webview.options = this.options();
    const p = new MetricsPanel(panel, this.extensionUri, this.registry, focus);
    this.current = p;
    p.onDispose(() => {
      if (this.current === p) this.current = undefined;
    });
    return p;
  }

  dispose(): void {
    this.current?.dispose();
    this.store.dispose();
  }
}

/** An editor group other than the panel's, so the panel stays in view while examples are read. */
function besidePanel(panelColumn: vscode.ViewColumn | undefined): vscode.ViewColumn {
  return vscode.window.visibleTextEditors.map((e) => e.viewColumn).find((c) => c !== undefined && c !== panelColumn) ?? vscode.ViewColumn.Beside;
}

/**
 * Opens a misclassified example: its image (image data), or the eval data file at its line
 * (JSONL, CSV), selecting the line.
 */
async function openExample(report: LoadedEvalReport, index: number, panelColumn: vscode.ViewColumn | undefined): Promise<void> {
  const line = report.lines[index];
  if (line === undefined) return;
  const image = report.images[index];
  if (image) {
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(image), { preview: true, viewColumn: besidePanel(panelColumn) });
    return;
  }
  if (report.view.position === 'record') {
    // JSON arrays and Parquet number records, not lines: a line selection would point elsewhere.
    void vscode.window.showInformationMessage(`${report.view.dataFile}: record ${line} (this format has no line per record)`);
    if (report.dataFile.toLowerCase().endsWith('.parquet')) return;
    await vscode.window.showTextDocument(vscode.Uri.file(report.dataFile), { preview: true, viewColumn: besidePanel(panelColumn) });
    return;
  }
  try {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(report.dataFile));
    await vscode.window.showTextDocument(document, { selection: document.lineAt(line - 1).range, preview: true, viewColumn: besidePanel(panelColumn) });
  } catch {
    void vscode.window.showErrorMessage(`Could not open ${report.dataFile}: the eval data file may have moved or changed since the evaluation (line ${line})`);
  }
}

/** One open panel; owns its subscriptions and ends them when the panel closes. */
export class MetricsPanel implements vscode.Disposable {
  private readonly store = new DisposableStore();
  private ready = false;
  /** Points sent since each run's last full copy: past the budget, the run is sent again, downsampled. */
  private readonly sentSinceFull = new Map<string, number>();
  private readonly disposeCallbacks: (() => void)[] = [];

  constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly registry: RunRegistry, private focus?: string) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'trainer.svg');
    panel.webview.html = panelHtml(panel.webview, extensionUri);
    this.store.add(panel.webview.onDidReceiveMessage((m: WebviewToExtension) => this.onMessage(m)));
    this.store.add(panel.onDidDispose(() => this.dispose()));
    // A hidden webview is unloaded (no retained context); shown again, it says `ready` again.
    this.store.add(panel.onDidChangeViewState(() => {
      if (!panel.visible) this.ready = false;
    }));
    this.store.add(registry.onDidChangeRuns(() => this.postSnapshot()));
    this.store.add(registry.onDidChangeRun((c) => {
      if (!this.ready) return;
      switch (c.kind) {
        case 'history':
          if (c.reset) this.post({ type: 'run', run: this.panelRun(c.run) });
          else this.append(c.run, seriesOf(c.appended));
          break;
        case 'status':
          this.post({ type: 'status', runId: c.run.id, status: c.run.status, progress: c.run.progress, message: c.run.message });
          break;
        case 'evalReport':
          this.post({ type: 'evalReport', runId: c.run.id, report: c.run.evalReport?.view });
          break;
        case 'checkpoints':
          break;
      }
    }));
  }

  onDispose(fn: () => void): void {
    this.disposeCallbacks.push(fn);
  }

  reveal(runId: string | undefined, beside: boolean): void {
    this.panel.reveal(beside ? vscode.ViewColumn.Beside : undefined, beside);
    if (runId) {
      this.focus = runId;
      if (this.ready) this.post({ type: 'focus', runId });
    }
  }

  private onMessage(m: WebviewToExtension) {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.postSnapshot();
        break;
      case 'stop': {
        const run = this.registry.get(m.runId);
        if (run) void vscode.commands.executeCommand('trainer.stopTraining', run.id);
        break;
      }
      case 'openExample': {
        const report = this.registry.get(m.runId)?.evalReport;
        if (report) void openExample(report, m.index, this.panel.viewColumn);
        break;
      }
      default:
        assertNever(m);
    }
  }

  private panelRun(run: Run): PanelRun {
    this.sentSinceFull.set(run.id, 0);
    return {
      id: run.id, label: run.label, status: run.status, progress: run.progress, message: run.message,
      series: downsampleSet(seriesOf(run.history.entries)),
      evalReport: run.evalReport?.view,
    };
  }

  private postSnapshot() {
    if (!this.ready) return;
    const runs = this.registry.runs().map((r) => this.panelRun(r));
    this.post({ type: 'snapshot', runs, focus: this.focus });
  }

  private append(run: Run, series: SeriesSet) {
    const n = Math.max(0, ...Object.values(series).map((s) => s.length));
    if (n === 0) return;
    const sent = (this.sentSinceFull.get(run.id) ?? 0) + n;
    if (sent > POINT_BUDGET) {
      this.post({ type: 'run', run: this.panelRun(run) });
      return;
    }
    this.sentSinceFull.set(run.id, sent);
    this.post({ type: 'append', runId: run.id, series });
  }

  private post(message: ExtensionToWebview) {
    void this.panel.webview.postMessage(message);
  }

  /** Subscriptions this panel holds (zero once disposed). */
  get held(): number {
    return this.store.size;
  }

  dispose(): void {
    if (this.store.isDisposed) return;
    this.store.dispose();
    this.panel.dispose();
    for (const fn of this.disposeCallbacks.splice(0)) fn();
  }
}
