// The status bar item while a run trains: step/total, loss and ETA; a click opens the metrics
// panel on that run. Hidden when nothing runs.

import * as vscode from 'vscode';
import { formatDuration } from '../../webview/model';
import { DisposableStore } from './events';
import type { Run, RunRegistry } from './registry';
import { isActive } from './treeModel';

/** The status bar text for a run (without the icon). */
export function statusText(run: Run): string {
  const p = run.progress;
  if (run.status === 'stopping') return `${run.label}: stopping…`;
  if (run.command && run.command !== 'train') return `${run.label}: ${run.command}…`;
  if (!p || p.maxSteps === 0) return `${run.label}: preparing…`;
  const parts = [`${run.label} ${p.step}/${p.maxSteps}`];
  if (p.loss !== null && Number.isFinite(p.loss)) parts.push(`loss ${p.loss.toPrecision(3)}`);
  if (p.etaSeconds !== null && Number.isFinite(p.etaSeconds)) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join(' · ');
}

export class TrainingStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('trainer.status', vscode.StatusBarAlignment.Left, 50);
  private readonly store = new DisposableStore();
  /** Runs in the order they started; the newest active one is shown. */
  private order: string[] = [];

  constructor(private readonly registry: RunRegistry) {
    this.item.name = 'Trainer';
    this.store.add(this.item);
    this.store.add(registry.onDidChangeRun((c) => {
      if (c.kind === 'status') this.update(c.run);
    }));
  }

  private update(changed: Run) {
    if (isActive(changed.status) && !this.order.includes(changed.id)) this.order.push(changed.id);
    this.order = this.order.filter((id) => {
      const r = this.registry.get(id);
      return r && isActive(r.status);
    });
    const run = this.registry.get(this.order[this.order.length - 1] ?? '');
    if (!run) {
      this.item.hide();
      return;
    }
    const others = this.order.length - 1;
    this.item.text = `$(sync~spin) ${statusText(run)}${others > 0 ? ` (+${others})` : ''}`;
    this.item.tooltip = `Trainer: ${run.label} — click for its metrics`;
    this.item.command = { command: 'trainer.openMetrics', title: 'Open Metrics', arguments: [run.id] };
    this.item.show();
  }

  dispose(): void {
    this.store.dispose();
  }
}
