// Starts and stops trainer processes. One process per run directory at a time: a second run
// writing to the same output_dir is refused. Runs need a trusted workspace, because configs may
// load JavaScript modules (compute_metrics, callbacks) that run with the user's permissions.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ActiveRun } from './activeRun';
import { summarizeConfig } from './configFiles';
import { Emitter } from './events';
import type { Run, RunRegistry } from './registry';
import type { JobKind, JobOptions } from '../protocol';
import { isActive } from './treeModel';

export interface StartOptions {
  job?: JobOptions;
  /** A few words for the Output channel and notifications: "resume from checkpoint-40". */
  what?: string;
  /**
   * The caller tells the user the result itself once the run finishes (predictions written,
   * model exported, with a button to open it), so no generic "… finished" notification: a
   * second toast for the same result only crowds out the one that can be acted on (VS Code
   * shows three at a time).
   */
  announcesResult?: boolean;
}

export class RunController implements vscode.Disposable {
  private readonly active = new Map<string, ActiveRun>();
  private readonly outputs = new Map<string, vscode.OutputChannel>();
  private readonly startEmitter = new Emitter<ActiveRun>();
  /** A process started (the metrics panel opens on training). */
  readonly onDidStart = this.startEmitter.event;

  constructor(private readonly registry: RunRegistry, private readonly script: string) {}

  activeOf(run: Run): ActiveRun | undefined {
    return this.active.get(run.id);
  }

  activeRuns(): ActiveRun[] {
    return [...this.active.values()];
  }

  outputOf(run: Run): vscode.OutputChannel {
    let out = this.outputs.get(run.id);
    if (!out) {
      out = vscode.window.createOutputChannel(`Trainer: ${run.label}`);
      this.outputs.set(run.id, out);
    }
    return out;
  }

  /** Starts `command` on a config; undefined when refused (the user was told why). */
  async start(command: JobKind, configFile: string, opts: StartOptions = {}): Promise<ActiveRun | undefined> {
    if (!vscode.workspace.isTrusted) {
      const pick = await vscode.window.showWarningMessage(
        'Trainer runs only in a trusted workspace: a config can load JavaScript modules (compute_metrics, callbacks) that run with your permissions. Runs, checkpoints and metrics stay viewable.',
        'Manage Workspace Trust');
      if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
      return undefined;
    }
    const config = path.resolve(configFile);
    let text: string;
    try {
      text = fs.readFileSync(config, 'utf8');
    } catch {
      void vscode.window.showErrorMessage(`Trainer: cannot read ${config}.`);
      return undefined;
    }
    const summary = summarizeConfig(config, text);
    if (summary.problem) {
      const where = summary.problem.line ? `:${summary.problem.line}` : '';
      const pick = await vscode.window.showErrorMessage(`Trainer: ${path.basename(config)}${where}: ${summary.problem.message}`, 'Open Config');
      if (pick) await vscode.window.showTextDocument(vscode.Uri.file(config), summary.problem.line ? { selection: new vscode.Range(summary.problem.line - 1, 0, summary.problem.line - 1, 0) } : {});
      return undefined;
    }
    const run = this.registry.runOfConfig(config) ?? this.registry.ensureRun(summary);
    const busy = this.active.get(run.id);
    if (busy || isActive(run.status)) {
      const doing = busy ? `${busy.command}${run.progress ? ` at step ${run.progress.step}/${run.progress.maxSteps}` : ''}` : 'a run';
      void vscode.window.showErrorMessage(`Trainer: ${run.label} is busy (${doing}) writing to ${run.outputDir}. Two runs cannot share an output_dir; stop the first one or change training.output_dir.`);
      return undefined;
    }
    const active = new ActiveRun({
      script: this.script, command, config, job: opts.job ?? {}, what: opts.what ?? '', announcesResult: opts.announcesResult === true, run, registry: this.registry, output: this.outputOf(run),
    });
    this.active.set(run.id, active);
    void active.done.then(() => {
      if (this.active.get(run.id) === active) this.active.delete(run.id);
    });
    this.startEmitter.fire(active);
    return active;
  }

  /** Stops a run gracefully (saving a checkpoint unless `save` is false). */
  stop(run: Run, save: boolean): boolean {
    const a = this.active.get(run.id);
    if (!a) return false;
    a.stop(save);
    return true;
  }

  /**
   * Ends every process: each is asked to stop and save, and killed if it has not exited within
   * `graceMs` (VS Code gives deactivate() a few seconds).
   */
  async shutdown(graceMs = 2500): Promise<void> {
    await Promise.all([...this.active.values()].map((a) => a.process.shutdown(graceMs)));
  }

  dispose(): void {
    for (const a of this.active.values()) a.dispose();
    this.active.clear();
    for (const o of this.outputs.values()) o.dispose();
    this.outputs.clear();
    this.startEmitter.dispose();
  }
}
