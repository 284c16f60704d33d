// What the checkpoint tree shows for a run and its checkpoints: labels, descriptions, icons and
// context values, from the run directory and the run's live status. No `vscode` here:
// checkpointTree.ts turns these into TreeItems.

import type { RunProgress, RunStatus } from '../webviewProtocol';
import type { CheckpointInfo } from './checkpointListing';

export interface RunData {
  id: string;
  label: string;
  outputDir: string;
  configs: readonly string[];
  status: RunStatus;
  progress: RunProgress | null;
  message?: string;
  /** Command of the active process ('train', 'evaluate'…), when one runs. */
  command?: string;
  checkpoints: readonly CheckpointInfo[];
  /** The first problem in the run's config, if any ("training.learning_rat: unknown key…"). */
  problem?: string;
}

export type RunIcon = 'running' | 'failed' | 'finished' | 'stopped' | 'idle' | 'problem';

export interface RunNode {
  kind: 'run';
  runId: string;
  label: string;
  description: string;
  tooltip: string;
  icon: RunIcon;
  /** "run" or "run.running" (menus differ). */
  contextValue: string;
  hasChildren: boolean;
}

export interface CheckpointNode {
  kind: 'checkpoint';
  runId: string;
  path: string;
  step: number;
  label: string;
  description: string;
  tooltip: string;
  best: boolean;
  resumable: boolean;
  /** "checkpoint", plus ".best" and ".partial" (not resumable). */
  contextValue: string;
}

export type TreeNode = RunNode | CheckpointNode;

/** A metric value short enough for a tree row. */
export function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 0.001 ? v.toPrecision(4).replace(/\.?0+$/, '') : v.toExponential(2);
}

const RUNNING: RunStatus[] = ['starting', 'running', 'stopping'];

export function isActive(status: RunStatus): boolean {
  return RUNNING.includes(status);
}

export function runNode(run: RunData): RunNode {
  const n = run.checkpoints.length;
  const saved = n === 0 ? 'no checkpoints' : n === 1 ? '1 checkpoint' : `${n} checkpoints`;
  let description: string;
  let icon: RunIcon;
  const p = run.progress;
  switch (run.status) {
    case 'starting':
      icon = 'running';
      description = `${run.command ?? 'train'}: starting`;
      break;
    case 'running':
      icon = 'running';
      description = run.command && run.command !== 'train' ? `${run.command}…` : p && p.maxSteps > 0 ? `training: step ${p.step}/${p.maxSteps}` : 'training: preparing';
      break;
    case 'stopping':
      icon = 'running';
      description = 'stopping…';
      break;
    case 'failed':
    case 'stopped':
    case 'finished':
      icon = run.status;
      description = `${run.status} · ${saved}`;
      break;
    case 'idle':
      icon = run.problem ? 'problem' : 'idle';
      description = run.problem ? `config error · ${saved}` : saved;
      break;
  }
  const tooltip = [`${run.label}: ${description}`, `Run directory: ${run.outputDir}`, ...run.configs.map((c) => `Config: ${c}`), ...(run.message ? [run.message] : []), ...(run.problem ? [`Config error: ${run.problem}`] : [])].join('\n');
  return {
    kind: 'run', runId: run.id, label: run.label, description, tooltip, icon,
    contextValue: isActive(run.status) ? 'run.running' : 'run', hasChildren: n > 0,
  };
}

/** Checkpoint rows of a run, newest first. */
export function checkpointNodes(run: RunData): CheckpointNode[] {
  return [...run.checkpoints].reverse().map((c) => {
    const parts = [`step ${c.step}`];
    if (c.epoch !== null) parts.push(`epoch ${formatMetric(c.epoch)}`);
    const metrics = Object.entries(c.metrics);
    for (const [k, v] of metrics.slice(0, 3)) parts.push(`${k.replace(/^eval_/, '')} ${formatMetric(v)}`);
    const description = (c.best ? '★ best · ' : '') + parts.join(' · ') + (c.resumable ? '' : ' · not resumable');
    const tooltip = [
      `${c.name} of ${run.label}${c.best ? ' (best)' : ''}`,
      `step ${c.step}${c.epoch !== null ? `, epoch ${formatMetric(c.epoch)}` : ''}`,
      ...metrics.map(([k, v]) => `${k}: ${formatMetric(v)}`),
      c.resumable ? 'Click to resume training from here' : 'Not resumable (saved with save_only_model, or incomplete)',
    ].join('\n');
    return {
      kind: 'checkpoint', runId: run.id, path: c.path, step: c.step, label: c.name, description, tooltip,
      best: c.best, resumable: c.resumable,
      contextValue: `checkpoint${c.best ? '.best' : ''}${c.resumable ? '' : '.partial'}`,
    };
  });
}

/**
 * Everything the tree shows for these runs, as one string: equal strings draw equal trees. The
 * tree is redrawn only when it changes, since a redraw replaces every row's click command in
 * the extension host and a click that lands before the new rows arrive is lost ("Actual command
 * not found" in its log): a stop, for one, sends several events that change nothing drawn.
 */
export function treeSignature(runs: readonly RunData[]): string {
  return JSON.stringify(runs.map((r) => [runNode(r), checkpointNodes(r)]));
}
