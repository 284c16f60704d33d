// Resolving what a command acts on: a config, a run or a checkpoint, from the argument VS Code
// passes (a code lens's URI, a tree node, a run id) or, from the palette, by asking.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isTrainerConfig } from './configFiles';
import type { Run, RunRegistry } from './registry';
import type { CheckpointInfo } from './checkpointListing';
import { CheckpointNode, RunNode, formatMetric, isActive } from './treeModel';

export function isCheckpointNode(x: unknown): x is CheckpointNode {
  return !!x && typeof x === 'object' && (x as CheckpointNode).kind === 'checkpoint';
}

function isRunNode(x: unknown): x is RunNode {
  return !!x && typeof x === 'object' && (x as RunNode).kind === 'run';
}

/** The run an argument names: a run id, a tree node, or a config's URI. */
export function runFromArg(registry: RunRegistry, arg: unknown): Run | undefined {
  if (typeof arg === 'string') return registry.get(arg);
  if (isRunNode(arg) || isCheckpointNode(arg)) return registry.get(arg.runId);
  if (arg instanceof vscode.Uri) return registry.runOfConfig(arg.fsPath);
  return undefined;
}

/** The config to start: the argument, the active editor's config, or one the user picks. */
export async function pickConfig(registry: RunRegistry, arg: unknown, title: string): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) {
    // The trainer reads the file from disk: unsaved edits would be silently ignored.
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === arg.toString());
    if (open?.isDirty) await open.save();
    return arg.fsPath;
  }
  const active = vscode.window.activeTextEditor?.document;
  if (active?.uri.scheme === 'file' && isTrainerConfig(active.uri.fsPath)) {
    if (active.isDirty) await active.save();
    return active.uri.fsPath;
  }
  await registry.ready;
  const configs = registry.configs();
  if (configs.length === 0) {
    const pick = await vscode.window.showInformationMessage('Trainer: no trainer configs (trainer.yaml, *.trainer.yaml…) in this workspace.', 'New Training Config', 'Create Example');
    if (pick === 'New Training Config') await vscode.commands.executeCommand('trainer.newConfig');
    if (pick === 'Create Example') await vscode.commands.executeCommand('trainer.createExample');
    return undefined;
  }
  if (configs.length === 1) return configs[0].file;
  const items = configs.map((c) => ({
    label: vscode.workspace.asRelativePath(c.file),
    description: c.problem ? `$(error) ${c.problem.message}` : vscode.workspace.asRelativePath(c.outputDir),
    file: c.file,
  }));
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Pick a trainer config' });
  return pick?.file;
}

/** A run with a live process: the argument's, the only one, or one the user picks. */
export async function pickActiveRun(registry: RunRegistry, arg: unknown): Promise<Run | undefined> {
  const given = runFromArg(registry, arg);
  if (given) return given;
  const active = registry.runs().filter((r) => isActive(r.status));
  if (active.length <= 1) return active[0];
  const pick = await vscode.window.showQuickPick(active.map((r) => ({ label: r.label, description: r.progress ? `step ${r.progress.step}/${r.progress.maxSteps}` : r.status, run: r })), { placeHolder: 'Which run?' });
  return pick?.run;
}

export interface PickedCheckpoint {
  run: Run;
  checkpoint: CheckpointInfo;
}

function describe(c: CheckpointInfo): string {
  const metrics = Object.entries(c.metrics).slice(0, 2).map(([k, v]) => `${k.replace(/^eval_/, '')} ${formatMetric(v)}`);
  return [c.best ? '★ best' : '', `step ${c.step}`, c.epoch !== null ? `epoch ${formatMetric(c.epoch)}` : '', ...metrics].filter(Boolean).join(' · ');
}

/** The checkpoint a tree node names, or one the user picks (runs first when there are several). */
export async function pickCheckpoint(registry: RunRegistry, arg: unknown, opts: { resumable?: boolean; title: string }): Promise<PickedCheckpoint | undefined> {
  if (isCheckpointNode(arg)) {
    const run = registry.get(arg.runId);
    const checkpoint = run?.checkpoints.find((c) => c.path === arg.path);
    if (run && checkpoint && fs.existsSync(checkpoint.path)) return { run, checkpoint };
    // The row was drawn before its folder went: save_total_limit rotates older checkpoints away as
    // a run saves new ones (a stop saves one), and the file watcher's news can trail the click.
    // Say so rather than do nothing, and bring the tree up to date.
    if (run) registry.syncCheckpoints(run);
    void vscode.window.showWarningMessage(`Trainer: ${path.basename(arg.path)} is no longer in ${shortPath(path.dirname(arg.path))} (save_total_limit removes older checkpoints as new ones are saved). The list is refreshed.`);
    return undefined;
  }
  await registry.ready;
  const ok = (c: CheckpointInfo) => !opts.resumable || c.resumable;
  let run = runFromArg(registry, arg);
  if (!run) {
    const runs = registry.runs().filter((r) => r.checkpoints.some(ok));
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(`Trainer: no ${opts.resumable ? 'resumable ' : ''}checkpoints yet. Train first; checkpoints appear as save_strategy says.`);
      return undefined;
    }
    run = runs.length === 1 ? runs[0] : (await vscode.window.showQuickPick(runs.map((r) => ({ label: r.label, description: vscode.workspace.asRelativePath(r.outputDir), run: r })), { title: opts.title, placeHolder: 'Which run?' }))?.run;
    if (!run) return undefined;
  }
  const list = [...run.checkpoints].filter(ok).reverse();
  if (list.length === 0) return undefined;
  const pick = await vscode.window.showQuickPick(list.map((c) => ({ label: c.name, description: describe(c), checkpoint: c })), { title: `${opts.title}: ${run.label}`, placeHolder: 'Which checkpoint?' });
  return pick && { run, checkpoint: pick.checkpoint };
}

/** The config a run's processes read (the first that writes to its output_dir). */
export function configOf(run: Run): string {
  return run.configs[0] ?? run.summary.file;
}

/** "out/checkpoint-40" relative to the workspace, for messages. */
export function shortPath(p: string): string {
  const rel = vscode.workspace.asRelativePath(p);
  return rel === p ? path.basename(p) : rel;
}
