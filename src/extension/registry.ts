// The workspace's runs, kept in step with the disk: configs are found with a file search and
// followed by a watcher; each run directory (output_dir) has its own watcher, and its log
// history and checkpoints are re-read when files change there — never by polling. The tree, the
// metrics panel, the code lenses and the status bar are views of what this holds.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunProgress, RunStatus } from '../webviewProtocol';
import { CONFIG_EXCLUDE, CONFIG_GLOB, ConfigSummary, summarizeConfig } from './configFiles';
import { Emitter, Event } from './events';
import { LoadedEvalReport, readEvalReport } from './evalReport';
import { LogEntry, LogHistory } from './logHistory';
import { EVAL_REPORT_FILE } from '../trainer/runDirectory';
import { CheckpointInfo, StateCache, endedStatus, latestResumable, readCheckpoints } from './checkpointListing';
import { indexRuns, runIdOf } from './runIndex';
import type { RunData } from './treeModel';

export type RunChange =
  | { kind: 'history'; run: Run; appended: LogEntry[]; reset: boolean }
  | { kind: 'checkpoints'; run: Run }
  | { kind: 'status'; run: Run }
  | { kind: 'evalReport'; run: Run };

/** One run directory and what is known about it. */
export class Run implements RunData {
  readonly history: LogHistory;
  checkpoints: CheckpointInfo[] = [];
  status: RunStatus = 'idle';
  progress: RunProgress | null = null;
  message?: string;
  command?: string;
  watcher?: vscode.Disposable;
  watchingDir = false;
  /** The last evaluation's report (eval_report.json), if the run directory has one. */
  evalReport?: LoadedEvalReport;
  /** Checkpoints' trainer_state.json, parsed once per change. */
  readonly stateCache: StateCache = new Map();

  constructor(readonly id: string, readonly outputDir: string, public label: string, public configs: string[], public summary: ConfigSummary) {
    this.history = new LogHistory(outputDir);
  }

  get resumable(): CheckpointInfo | undefined {
    return latestResumable(this.checkpoints);
  }

  get problem(): string | undefined {
    return this.summary.problem?.message;
  }
}

export class RunRegistry implements vscode.Disposable {
  private readonly runsById = new Map<string, Run>();
  private readonly summaries = new Map<string, ConfigSummary>();
  private readonly changeEmitter = new Emitter<RunChange>();
  private readonly listEmitter = new Emitter<void>();
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; checkpoints: boolean; report: boolean }>();
  private readonly disposables: vscode.Disposable[] = [];
  /** A run's history, checkpoints or status changed. */
  readonly onDidChangeRun = this.changeEmitter.event;
  /** Runs were added, removed or renamed. */
  readonly onDidChangeRuns = this.listEmitter.event;
  /** What a list of runs shows changed: the runs, or a run's status or checkpoints (not its log). */
  readonly onDidChangeListing: Event<void> = (listener) => {
    const subs = [this.onDidChangeRuns(() => listener()), this.onDidChangeRun((c) => (c.kind === 'status' || c.kind === 'checkpoints' ? listener() : undefined))];
    return { dispose: () => subs.forEach((d) => d.dispose()) };
  };
  readonly ready: Promise<void>;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(CONFIG_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.readConfig(uri.fsPath)),
      watcher.onDidChange((uri) => this.readConfig(uri.fsPath)),
      watcher.onDidDelete((uri) => this.forgetConfig(uri.fsPath)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.rescan()),
    );
    this.ready = this.rescan();
  }

  runs(): Run[] {
    return [...this.runsById.values()];
  }

  get(id: string): Run | undefined {
    return this.runsById.get(id);
  }

  configs(): ConfigSummary[] {
    return [...this.summaries.values()].sort((a, b) => a.file.localeCompare(b.file));
  }

  summaryOf(configFile: string): ConfigSummary | undefined {
    return this.summaries.get(path.resolve(configFile));
  }

  /** The run a config writes to; reads the config first if it is new (e.g. outside the workspace). */
  runOfConfig(configFile: string): Run | undefined {
    const file = path.resolve(configFile);
    if (!this.summaries.has(file)) this.readConfig(file);
    const summary = this.summaries.get(file);
    return summary && this.runsById.get(runIdOf(summary.outputDir));
  }

  /** Finds every config in the workspace again. */
  async rescan(): Promise<void> {
    const uris = await vscode.workspace.findFiles(CONFIG_GLOB, CONFIG_EXCLUDE);
    this.summaries.clear();
    for (const uri of uris) this.summaries.set(uri.fsPath, summarize(uri.fsPath));
    this.rebuild();
  }

  readConfig(file: string): void {
    if (!fs.existsSync(file)) return this.forgetConfig(file);
    this.summaries.set(path.resolve(file), summarize(file));
    this.rebuild();
  }

  private forgetConfig(file: string) {
    if (this.summaries.delete(path.resolve(file))) this.rebuild();
  }

  /** Recomputes the run list from the config summaries, keeping what is known about runs that stay. */
  private rebuild() {
    const indexed = indexRuns([...this.summaries.values()], (f) => vscode.workspace.getWorkspaceFolder(vscode.Uri.file(f))?.uri.fsPath);
    const keep = new Set<string>();
    for (const r of indexed) {
      keep.add(r.id);
      const summary = this.summaries.get(r.configs[0])!;
      const existing = this.runsById.get(r.id);
      if (existing) {
        existing.label = r.label;
        existing.configs = r.configs;
        existing.summary = summary;
        continue;
      }
      const run = new Run(r.id, r.outputDir, r.label, r.configs, summary);
      this.runsById.set(r.id, run);
      this.watch(run);
      this.load(run);
    }
    for (const [id, run] of this.runsById) {
      // A run with a live process stays until it ends, even if its config went away.
      if (keep.has(id) || run.status === 'running' || run.status === 'starting' || run.status === 'stopping') continue;
      run.watcher?.dispose();
      this.runsById.delete(id);
    }
    this.listEmitter.fire();
  }

  /** A run for an output_dir no config names (a config outside the workspace was started). */
  ensureRun(summary: ConfigSummary): Run {
    const file = path.resolve(summary.file);
    if (!this.summaries.has(file)) {
      this.summaries.set(file, summary);
      this.rebuild();
    }
    return this.runsById.get(runIdOf(summary.outputDir))!;
  }

  private watch(run: Run) {
    run.watcher?.dispose();
    // Watch the directory itself once it exists; before that, its parent for it to appear.
    const exists = fs.existsSync(run.outputDir);
    run.watchingDir = exists;
    const pattern = exists
      ? new vscode.RelativePattern(vscode.Uri.file(run.outputDir), '**')
      : new vscode.RelativePattern(vscode.Uri.file(path.dirname(run.outputDir)), `${path.basename(run.outputDir)}/**`);
    const w = vscode.workspace.createFileSystemWatcher(pattern);
    const on = (uri: vscode.Uri) => this.changed(run, uri.fsPath);
    const subs = [w.onDidCreate(on), w.onDidChange(on), w.onDidDelete(on)];
    run.watcher = { dispose: () => [...subs, w].forEach((d) => d.dispose()) };
  }

  private changed(run: Run, file: string) {
    if (!run.watchingDir && fs.existsSync(run.outputDir)) this.watch(run);
    // Only changes in checkpoint folders (or to the directory itself) re-read checkpoints;
    // the log, TensorBoard files and the final model only re-read the log's new lines.
    const top = path.relative(run.outputDir, file).split(path.sep)[0];
    const whole = top === '' || top === '..';
    this.schedule(run, whole || /^checkpoint-\d+$/.test(top), 150, whole || top === EVAL_REPORT_FILE);
  }

  /** Re-reads a run directory soon; bursts of file events (a checkpoint is many files) become one read. */
  schedule(run: Run, checkpoints: boolean, delayMs = 150, report = false): void {
    const p = this.pending.get(run.id);
    if (p) {
      p.checkpoints ||= checkpoints;
      p.report ||= report;
      return;
    }
    const entry = {
      checkpoints,
      report,
      timer: setTimeout(() => {
        this.pending.delete(run.id);
        if (this.runsById.get(run.id) !== run) return;
        this.syncHistory(run);
        if (entry.checkpoints) this.syncCheckpoints(run);
        if (entry.report) this.syncEvalReport(run);
      }, delayMs),
    };
    this.pending.set(run.id, entry);
  }

  /** Reads new log entries now (the trainer reported one). */
  syncHistory(run: Run): void {
    const r = run.history.sync();
    if (r.reset || r.appended.length) this.changeEmitter.fire({ kind: 'history', run, appended: r.appended, reset: r.reset });
  }

  syncCheckpoints(run: Run): void {
    if (!run.watchingDir && fs.existsSync(run.outputDir)) this.watch(run);
    const next = readCheckpoints(run.outputDir, run.summary, run.stateCache);
    if (JSON.stringify(next) === JSON.stringify(run.checkpoints)) return;
    run.checkpoints = next;
    this.changeEmitter.fire({ kind: 'checkpoints', run });
  }

  /** Re-reads eval_report.json (written durably, so it is whole whenever it exists). */
  syncEvalReport(run: Run): void {
    const next = readEvalReport(run.outputDir);
    if (JSON.stringify(next) === JSON.stringify(run.evalReport)) return;
    run.evalReport = next;
    this.changeEmitter.fire({ kind: 'evalReport', run });
  }

  private load(run: Run) {
    run.history.sync();
    run.evalReport = readEvalReport(run.outputDir);
    run.checkpoints = readCheckpoints(run.outputDir, run.summary, run.stateCache);
    // A run this window did not start: how it ended is on disk.
    if (run.status === 'idle') {
      const ended = endedStatus(run.outputDir);
      run.status = ended.status;
      run.message = ended.message;
    }
  }

  /** Sets a run's live status and tells the views. */
  setStatus(run: Run, status: RunStatus, extra: { progress?: RunProgress | null; message?: string; command?: string } = {}): void {
    run.status = status;
    if ('progress' in extra) run.progress = extra.progress ?? null;
    if ('message' in extra) run.message = extra.message;
    if ('command' in extra) run.command = extra.command;
    this.changeEmitter.fire({ kind: 'status', run });
  }

  dispose(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const run of this.runsById.values()) run.watcher?.dispose();
    this.runsById.clear();
    for (const d of this.disposables) d.dispose();
    this.changeEmitter.dispose();
    this.listEmitter.dispose();
  }
}

function summarize(file: string): ConfigSummary {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // A config that cannot be read has an error the diagnostics show; its run still gets a row.
  }
  return summarizeConfig(path.resolve(file), text);
}
