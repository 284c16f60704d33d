// Which code lenses a trainer config shows, and on which line. No `vscode` here: the provider in
// codeLens.ts turns these into vscode.CodeLens objects.

import type { RunStatus } from '../webviewProtocol';

export interface LensState {
  /** Runs may start (a trusted workspace). */
  trusted: boolean;
  /** The run of this config's output_dir, when a process is working on it. */
  active?: { status: RunStatus; command: string; step: number; maxSteps: number };
  /** A resumable checkpoint exists. */
  canResume: boolean;
}

export type LensCommand = 'trainer.startTraining' | 'trainer.resumeLatest' | 'trainer.openMetrics' | 'trainer.stopTraining' | 'trainer.manageTrust';

export interface LensSpec {
  title: string;
  command: LensCommand;
  tooltip: string;
}

/** The lenses of a config, left to right. */
export function lensesFor(state: LensState): LensSpec[] {
  const out: LensSpec[] = [];
  const active = state.active && ['starting', 'running', 'stopping'].includes(state.active.status) ? state.active : undefined;
  if (active) {
    if (active.status === 'stopping') {
      out.push({ title: '■ Stopping…', command: 'trainer.stopTraining', tooltip: 'The trainer stops after the current step' });
    } else {
      const where = active.maxSteps > 0 ? `step ${active.step}/${active.maxSteps}` : active.command === 'train' ? 'preparing' : active.command;
      out.push({ title: `■ Stop (${where})`, command: 'trainer.stopTraining', tooltip: 'Stop after the current step, saving a checkpoint' });
    }
  } else if (!state.trusted) {
    out.push({ title: '$(shield) Trust the workspace to train', command: 'trainer.manageTrust', tooltip: 'Training runs only in trusted workspaces' });
  } else {
    out.push({ title: '▶ Start Training', command: 'trainer.startTraining', tooltip: 'Train as this config says' });
    if (state.canResume) out.push({ title: '↻ Resume latest', command: 'trainer.resumeLatest', tooltip: 'Continue training from the newest checkpoint' });
  }
  out.push({ title: 'Open Metrics', command: 'trainer.openMetrics', tooltip: 'Charts of this run' });
  return out;
}

/** The 0-based line the lenses sit on: the first line that is not blank or a comment. */
export function lensLine(text: string): number {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t && !t.startsWith('#') && !t.startsWith('//') && t !== '---') return i;
  }
  return 0;
}
