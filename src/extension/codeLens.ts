// Code lenses on trainer configs: "▶ Start Training", "↻ Resume latest" when a checkpoint can be
// resumed, "Open Metrics", and "■ Stop (step …)" while the config's run is going.

import * as vscode from 'vscode';
import { DisposableStore, Throttle } from './events';
import { lensLine, lensesFor } from './lenses';
import type { RunRegistry } from './registry';

export class ConfigLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  private readonly store = new DisposableStore();

  constructor(private readonly registry: RunRegistry) {
    this.store.add(this.changeEmitter);
    // Lenses redraw at most twice a second while a run reports progress, as the checkpoint tree.
    const redraw = this.store.add(new Throttle(() => this.changeEmitter.fire(), 500));
    this.store.add(registry.onDidChangeListing(() => redraw.request()));
    this.store.add(vscode.workspace.onDidGrantWorkspaceTrust(() => redraw.request()));
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const run = this.registry.runOfConfig(document.uri.fsPath);
    const line = lensLine(document.getText());
    const range = new vscode.Range(line, 0, line, 0);
    const specs = lensesFor({
      trusted: vscode.workspace.isTrusted,
      canResume: !!run?.resumable,
      active: run && run.status !== 'idle'
        ? { status: run.status, command: run.command ?? 'train', step: run.progress?.step ?? 0, maxSteps: run.progress?.maxSteps ?? 0 }
        : undefined,
    });
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
