// Which code lenses a trainer config shows, and on which line. No `vscode` here: the provider in
// codeLens.ts turns these into vscode.CodeLens objects.

import type { RunStatus } from '../webviewProtocol';

export interface LensState {
  /** Runs may start (a trusted workspace). */
  trusted: boolean;
  /**
   * The run of this config's output_dir, when a process is working on it. No step count: VS Code
   * re-asks for lenses after a debounce it stretches to the provider's measured latency (up to a
   * minute), and each change event restarts it, so lenses that change with every step are never
   * redrawn on a busy machine. The status bar and the Runs tree show the live step.
   */
  active?: { status: RunStatus; command: string };
  /** A resumable checkpoint exists. */
  canResume: boolean;
}

export type LensCommand = 'trainer.startTraining' | 'trainer.resumeLatest' | 'trainer.openMetrics' | 'trainer.stopTraining' | 'trainer.manageTrust';

export interface LensSpec {
  title: string;
  command: LensCommand;
  tooltip: string;
}

const DOING: Record<string, string> = { train: 'training', evaluate: 'evaluating', predict: 'predicting', export: 'exporting' };

/** The lenses of a config, left to right. */
export function lensesFor(state: LensState): LensSpec[] {
  const out: LensSpec[] = [];
  const active = state.active && ['starting', 'running', 'stopping'].includes(state.active.status) ? state.active : undefined;
  if (active) {
    if (active.status === 'stopping') {
      out.push({ title: '■ Stopping…', command: 'trainer.stopTraining', tooltip: 'The trainer stops after the current step' });
    } else {
      const where = active.status === 'running' ? DOING[active.command] ?? active.command : 'preparing';
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

/** What the lenses of every config show, as one string: lenses are redrawn only when it changes. */
export function lensesKey(states: Iterable<[string, LensState]>): string {
  return [...states].map(([id, s]) => `${id}\u0000${lensesFor(s).map((l) => l.title).join('\u0000')}`).sort().join('\n');
}
