// Code lenses on trainer configs: "▶ Start Training", "↻ Resume latest" when a checkpoint can be
// resumed, "Open Metrics", and "■ Stop (training)" while the config's run is going.

import * as vscode from 'vscode';
import { DisposableStore, Throttle } from './events';
import { LensState, lensLine, lensesFor, lensesKey } from './lenses';
import type { Run, RunRegistry } from './registry';

export class ConfigLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  private readonly store = new DisposableStore();

  constructor(private readonly registry: RunRegistry) {
    this.store.add(this.changeEmitter);
    // Only a change of what some lens shows is announced: every announcement restarts VS Code's
    // lens debounce (see LensState.active), so progress alone must not fire one.
    let shown = this.key();
    const redraw = this.store.add(new Throttle(() => {
      const now = this.key();
      if (now === shown) return;
      shown = now;
      this.changeEmitter.fire();
    }, 100));
    this.store.add(registry.onDidChangeListing(() => redraw.request()));
    this.store.add(vscode.workspace.onDidGrantWorkspaceTrust(() => redraw.request()));
  }

  private key(): string {
    return lensesKey(this.registry.runs().map((r): [string, LensState] => [r.id, this.stateOf(r)]));
  }

  private stateOf(run: Run | undefined): LensState {
    return {
      trusted: vscode.workspace.isTrusted,
      canResume: !!run?.resumable,
      active: run && run.status !== 'idle' ? { status: run.status, command: run.command ?? 'train' } : undefined,
    };
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const run = this.registry.runOfConfig(document.uri.fsPath);
    const line = lensLine(document.getText());
    const range = new vscode.Range(line, 0, line, 0);
    const specs = lensesFor(this.stateOf(run));
    return specs.map((s) => new vscode.CodeLens(range, {
      title: s.title,
      tooltip: s.tooltip,
      command: s.command,
      arguments: s.command === 'trainer.openMetrics' || s.command === 'trainer.stopTraining' ? [run?.id] : [document.uri],
    }));
  }

  dispose(): void {
    this.store.dispose();
  }
}
