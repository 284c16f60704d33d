// A run's lifetime: one trainer process working on a run directory, from fork to exit. It owns
// everything that lives only as long as the process — the process itself, its subscriptions, the
// preparation notification — and disposes all of it when the process ends. Its messages update
// the registry (which the views follow); its output goes to the run's Output channel.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { JobKind, JobOptions, PREPARATION_PHASES, TrainerMessage, assertNever } from '../protocol';
import type { RunStatus } from '../webviewProtocol';
import { DisposableStore } from './events';
import type { Run, RunRegistry } from './registry';
import { Outcome, TrainerProcess } from './trainerChild';
import { formatMetric } from './treeModel';

export interface ActiveRunOptions {
  script: string;
  command: JobKind;
  config: string;
  job: JobOptions;
  /** A few words for the Output channel: "resume from checkpoint-40". */
  what: string;
  /** The starter shows the result's own notification (runController.ts, StartOptions). */
  announcesResult: boolean;
  run: Run;
  registry: RunRegistry;
  output: vscode.OutputChannel;
}

const PREPARING: ReadonlySet<string> = new Set(PREPARATION_PHASES);

export class ActiveRun implements vscode.Disposable {
  private readonly store = new DisposableStore();
  readonly process: TrainerProcess;
  /** Resolves with the outcome once the process has exited and the views are updated. */
  readonly done: Promise<Outcome>;
  private startStep: number | undefined;
  private readonly previous: RunStatus;
  private evalMetrics: Record<string, number | null> | undefined;
  private preparation: { report: (message: string) => void; end: () => void } | undefined;

  constructor(private readonly o: ActiveRunOptions) {
    this.previous = o.run.status;
    const header = `── ${new Date().toLocaleTimeString()} ${o.command} ${path.basename(o.config)}${o.what ? ` (${o.what})` : ''} ──`;
    o.output.appendLine(header);
    this.process = this.store.add(new TrainerProcess({ script: o.script, command: o.command, config: o.config, job: o.job, cwd: path.dirname(o.config) }));
    o.output.appendLine(`$ onnx-trainer ${this.process.commandLine}   (pid ${this.process.pid ?? '?'})`);
    o.registry.setStatus(o.run, 'starting', { progress: null, message: undefined, command: o.command });
    this.store.add(this.process.onOutput((text) => o.output.append(text)));
    this.store.add(this.process.onMessage((m) => this.onMessage(m)));
    this.done = new Promise((resolve) => {
      this.store.add(this.process.onExit((outcome) => {
        this.onExit(outcome);
        resolve(outcome);
      }));
    });
  }

  get run(): Run {
    return this.o.run;
  }

  get command(): JobKind {
    return this.o.command;
  }

  /** Asks the trainer to stop after the current step (saving a checkpoint unless `save` is false). */
  stop(save: boolean): void {
    if (!this.process.running) return;
    // Before training starts there is no step to finish: end the process now.
    if (this.o.run.status === 'starting' || this.o.command !== 'train') {
      this.process.kill();
      return;
    }
    this.process.stop(save);
    this.o.output.appendLine(save ? '── stop requested: saving a checkpoint after this step ──' : '── stop requested: stopping after this step without saving ──');
    this.o.registry.setStatus(this.o.run, 'stopping');
  }

  kill(): void {
    this.o.output.appendLine('── ended by the user (SIGKILL) ──');
    this.process.kill();
  }

  private onMessage(m: TrainerMessage) {
    const { run, registry } = this.o;
    switch (m.type) {
      case 'started':
        break;
      case 'phase':
        if (PREPARING.has(m.phase)) this.showPreparation(m.message);
        else {
          this.endPreparation();
          if (run.status === 'starting') registry.setStatus(run, 'running');
        }
        break;
      case 'progress':
        this.endPreparation();
        this.startStep ??= m.step;
        if (this.startStep > 0 && m.step === this.startStep) this.o.output.appendLine(`── resumed at step ${m.step} of ${m.maxSteps} ──`);
        registry.setStatus(run, run.status === 'stopping' ? 'stopping' : 'running', {
          progress: { step: m.step, maxSteps: m.maxSteps, epoch: m.epoch, samplesPerSecond: m.samplesPerSecond ?? 0, etaSeconds: m.etaSeconds ?? null, loss: m.loss ?? null, startStep: this.startStep },
        });
        break;
      case 'log':
        // Training logs are in trainer_log.jsonl already; an evaluation's metrics are only here.
        if (this.o.command === 'train') registry.syncHistory(run);
        else this.evalMetrics = m.entry;
        break;
      case 'checkpoint':
        this.o.output.appendLine(`── checkpoint saved: ${m.path} ──`);
        registry.syncCheckpoints(run);
        break;
      case 'error':
      case 'finished':
        break;
      default:
        assertNever(m);
    }
  }

  private showPreparation(message: string) {
    if (this.preparation) return this.preparation.report(message);
    let end!: () => void;
    const finished = new Promise<void>((resolve) => (end = resolve));
    let report: (message: string) => void = () => {};
    this.preparation = { report: (msg) => report(msg), end };
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Trainer: ${this.o.run.label}`, cancellable: true },
      (progress, token) => {
        report = (msg) => progress.report({ message: msg });
        report(message);
        const sub = token.onCancellationRequested(() => {
          this.o.output.appendLine('── cancelled during preparation ──');
          this.process.kill();
        });
        return finished.finally(() => sub.dispose());
      },
    );
    this.store.onDispose(end);
  }

  private endPreparation() {
    this.preparation?.end();
  }

  private onExit(outcome: Outcome) {
    const { run, registry, output, command } = this.o;
    this.endPreparation();
    registry.syncHistory(run);
    registry.syncCheckpoints(run);
    const label = run.label;
    const show = async (kind: 'info' | 'error', text: string, ...more: string[]) => {
      const fn = kind === 'info' ? vscode.window.showInformationMessage : vscode.window.showErrorMessage;
      const pick = await fn(text, ...more, 'Show Output');
      if (pick === 'Show Output') output.show(true);
      return pick;
    };
    const keep = command === 'train' ? undefined : this.previous;
    switch (outcome.kind) {
      case 'finished': {
        output.appendLine(`── ${command} finished ──`);
        registry.setStatus(run, keep ?? 'finished', { message: undefined });
        if (command === 'evaluate' && this.evalMetrics) {
          const text = Object.entries(this.evalMetrics).filter(([k]) => k.startsWith('eval_') && !/runtime|per_second/.test(k)).map(([k, v]) => `${k} ${v === null ? 'NaN' : formatMetric(v)}`).join(', ');
          void show('info', `Trainer: ${label}: ${this.o.what}: ${text}`);
        } else if (command !== 'train' && !this.o.announcesResult) {
          void show('info', `Trainer: ${label}: ${command} finished (${this.o.what}).`);
        }
        break;
      }
      case 'stopped': {
        const text = command === 'train' ? (outcome.saved ? 'stopped; checkpoint saved' : 'stopped without saving') : `${command} cancelled`;
        output.appendLine(`── ${text} ──`);
        registry.setStatus(run, keep ?? 'stopped', { message: text });
        break;
      }
      case 'error': {
        output.appendLine(`── failed (exit code ${outcome.exitCode}): ${outcome.message} ──`);
        registry.setStatus(run, command === 'train' ? 'failed' : this.previous, { message: outcome.message });
        // The trainer says where the problem is (a config key's line, a data line): offer to go there.
        const file = outcome.file;
        void show('error', `Trainer: ${label}: ${command} failed: ${outcome.message}`, ...(file ? ['Open File'] : [])).then((pick) => {
          if (pick !== 'Open File' || !file) return;
          const at = outcome.line ? new vscode.Position(outcome.line - 1, 0) : undefined;
          void vscode.window.showTextDocument(vscode.Uri.file(file), at ? { selection: new vscode.Range(at, at) } : {});
        });
        break;
      }
      case 'crashed': {
        const how = outcome.signal ? `was killed (${outcome.signal})` : `exited with code ${outcome.exitCode}`;
        const tail = outcome.lastLines.slice(-3).join(' ⏎ ');
        const message = `the trainer process ${how}${tail ? `. Last output: ${tail}` : ''}`;
        output.appendLine(`── the trainer process ${how}; its last lines: ──`);
        for (const l of outcome.lastLines) output.appendLine(`   ${l}`);
        output.appendLine(run.resumable ? `── ${run.resumable.name} can be resumed ──` : '── no checkpoint to resume from yet ──');
        registry.setStatus(run, command === 'train' ? 'failed' : this.previous, { message: `The trainer process ${how}.` });
        void show('error', `Trainer: ${label}: ${command} failed: ${message}`);
        break;
      }
    }
    registry.setStatus(run, run.status, { progress: command === 'train' ? run.progress : null, command: undefined });
    this.store.dispose();
  }

  /** Leaves no process and no listener behind. */
  dispose(): void {
    this.store.dispose();
  }

  /** Subscriptions and resources this run still holds (for tests and the leak check). */
  get held(): number {
    return this.store.size + this.process.attachedListeners + this.process.subscribers;
  }
}
