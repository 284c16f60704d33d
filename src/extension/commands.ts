// The commands, as a typed table: one factory per id in commandIds.ts, each given the context
// and returning the handler VS Code calls (with a code lens's URI, a tree node, or nothing from
// the palette).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CommandId } from './commandIds';
import type { Ctx } from './context';
import { TEMPLATES, exampleFiles, scaffoldConfig } from './scaffold';
import { configOf, isCheckpointNode, pickActiveRun, pickCheckpoint, pickConfig, runFromArg, shortPath } from './picks';
import { isActive } from './treeModel';
import { WEIGHTS_FILE } from '../trainer/runDirectory';

type Handler = (...args: unknown[]) => unknown;
type CommandFactory = (ctx: Ctx) => Handler;

const startTraining: CommandFactory = (ctx) => async (arg) => {
  const config = await pickConfig(ctx.registry, arg, 'Start Training');
  if (config) await ctx.controller.start('train', config);
};

const stopTraining: CommandFactory = (ctx) => async (arg) => {
  const run = await pickActiveRun(ctx.registry, arg);
  const active = run && ctx.controller.activeOf(run);
  if (!run || !active) {
    void vscode.window.showInformationMessage('Trainer: nothing is running.');
    return;
  }
  if (run.status === 'stopping') {
    const kill = await vscode.window.showWarningMessage(`Trainer: ${run.label} is finishing its current step. End it now? Checkpoints already saved stay.`, 'End Now');
    if (kill) active.kill();
    return;
  }
  if (active.command !== 'train' || run.status === 'starting') {
    active.stop(false);
    return;
  }
  const items = [
    { label: '$(save) Stop and save a checkpoint', detail: 'Training ends after the current step; resume later from the new checkpoint', save: true },
    { label: '$(trash) Stop without saving', detail: 'Discard the steps since the last checkpoint', save: false },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Stop ${run.label}${run.progress ? ` at step ${run.progress.step}` : ''}` });
  if (pick) ctx.controller.stop(run, pick.save);
};

const resumeFromCheckpoint: CommandFactory = (ctx) => async (arg) => {
  const picked = await pickCheckpoint(ctx.registry, arg, { resumable: true, title: 'Resume from Checkpoint' });
  if (!picked) return;
  const { run, checkpoint } = picked;
  // A click in the tree is easy to make by accident: confirm, naming the run and the step.
  if (isCheckpointNode(arg)) {
    const later = run.checkpoints.filter((c) => c.step > checkpoint.step).length;
    const detail = `Training continues from ${shortPath(checkpoint.path)} with its weights, optimizer and schedule state.` +
      (later ? ` Its log history from step ${checkpoint.step} on is rewritten; the ${later} later checkpoint${later > 1 ? 's stay' : ' stays'} until replaced.` : '');
    const ok = await vscode.window.showWarningMessage(`Resume training of ${run.label} from step ${checkpoint.step}?`, { modal: true, detail }, 'Resume');
    if (ok !== 'Resume') return;
  }
  await ctx.controller.start('train', configOf(run), { job: { resume: checkpoint.path }, what: `resume from ${checkpoint.name}` });
};

const resumeLatest: CommandFactory = (ctx) => async (arg) => {
  const run = runFromArg(ctx.registry, arg);
  const latest = run?.resumable;
  if (!run || !latest) {
    void vscode.window.showInformationMessage('Trainer: no checkpoint to resume from yet.');
    return;
  }
  const config = arg instanceof vscode.Uri ? arg.fsPath : configOf(run);
  await ctx.controller.start('train', config, { job: { resume: latest.path }, what: `resume from ${latest.name}` });
};

const evaluateCheckpoint: CommandFactory = (ctx) => async (arg) => {
  const picked = await pickCheckpoint(ctx.registry, arg, { title: 'Evaluate Checkpoint' });
  if (!picked) return;
  await ctx.controller.start('evaluate', configOf(picked.run), { job: { checkpoint: picked.checkpoint.path }, what: `evaluate ${picked.checkpoint.name}` });
};

const predictWithCheckpoint: CommandFactory = (ctx) => async (arg) => {
  const picked = await pickCheckpoint(ctx.registry, arg, { title: 'Predict with Checkpoint' });
  if (!picked) return;
  const { run, checkpoint } = picked;
  const output = path.join(run.outputDir, `predictions-${checkpoint.name}.jsonl`);
  const active = await ctx.controller.start('predict', configOf(run), { job: { checkpoint: checkpoint.path, output }, what: `predict with ${checkpoint.name}`, announcesResult: true });
  const outcome = await active?.done;
  if (outcome?.kind === 'finished' && fs.existsSync(output)) {
    const pick = await vscode.window.showInformationMessage(`Trainer: predictions written to ${shortPath(output)}.`, 'Open Predictions');
    if (pick) await vscode.window.showTextDocument(vscode.Uri.file(output));
  }
};

const exportModel: CommandFactory = (ctx) => async (arg) => {
  const picked = await pickCheckpoint(ctx.registry, arg, { title: 'Export Model' });
  if (!picked) return;
  const { run, checkpoint } = picked;
  const suggestion = path.join(run.outputDir, 'export', checkpoint.name);
  const output = await vscode.window.showInputBox({
    title: `Export ${checkpoint.name} of ${run.label}`,
    prompt: 'Folder for the inference-ready model.onnx (+ model.safetensors and config.json)',
    value: suggestion,
    validateInput: (v) => (v.trim() ? undefined : 'A folder is needed'),
  });
  if (!output) return;
  const dir = path.resolve(path.dirname(configOf(run)), output.trim());
  const active = await ctx.controller.start('export', configOf(run), { job: { checkpoint: checkpoint.path, output: dir }, what: `export ${checkpoint.name} to ${shortPath(dir)}`, announcesResult: true });
  const outcome = await active?.done;
  if (outcome?.kind !== 'finished') return;
  const model = path.join(dir, 'model.onnx');
  const pick = await vscode.window.showInformationMessage(`Trainer: exported ${checkpoint.name} to ${shortPath(model)}.`, 'Reveal in Explorer');
  if (pick) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(model));
};

const tryModel: CommandFactory = (ctx) => async (arg) => {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Trainer: trying a model runs the config (which may load JavaScript modules); trust the workspace first.');
    return;
  }
  // A run's row: its final model, once written; a checkpoint's row or the palette: a checkpoint.
  const run = isCheckpointNode(arg) ? undefined : runFromArg(ctx.registry, arg);
  if (run && fs.existsSync(path.join(run.outputDir, WEIGHTS_FILE))) {
    ctx.openTry({ label: run.label, config: configOf(run), modelDir: run.outputDir, name: 'final model' });
    return;
  }
  const picked = await pickCheckpoint(ctx.registry, run ? run.id : arg, { title: 'Try Model' });
  if (!picked) return;
  const { checkpoint } = picked;
  ctx.openTry({ label: picked.run.label, config: configOf(picked.run), checkpoint: checkpoint.path, modelDir: checkpoint.path, name: checkpoint.name });
};

const openMetrics: CommandFactory = (ctx) => async (arg) => {
  await ctx.registry.ready;
  const run = runFromArg(ctx.registry, arg);
  ctx.panels.open(run?.id, !!run && vscode.window.activeTextEditor !== undefined);
};

const newConfig: CommandFactory = () => async (arg) => {
  const folder = arg instanceof vscode.Uri ? arg : vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folder) {
    void vscode.window.showErrorMessage('Trainer: open a folder first; the config is written there.');
    return;
  }
  const template = await vscode.window.showQuickPick(TEMPLATES.map((t) => ({ label: t.label, detail: t.detail, id: t.id })), { title: 'New Training Config', placeHolder: 'What does it train?' });
  if (!template) return;
  const name = await vscode.window.showInputBox({
    title: 'New Training Config',
    prompt: 'File name, relative to the workspace folder (trainer.yaml or NAME.trainer.yaml)',
    value: fs.existsSync(path.join(folder.fsPath, 'trainer.yaml')) ? `${template.id}.trainer.yaml` : 'trainer.yaml',
    validateInput: (v) => {
      if (!/(^|[\\/])(trainer|[^\\/]+\.trainer)\.(ya?ml)$/.test(v.trim())) return 'Name it trainer.yaml or NAME.trainer.yaml so Trainer recognizes it';
      return fs.existsSync(path.join(folder.fsPath, v.trim())) ? 'That file exists already' : undefined;
    },
  });
  if (!name) return;
  const file = path.join(folder.fsPath, name.trim());
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, scaffoldConfig(template.id), { flag: 'wx' });
  await vscode.window.showTextDocument(vscode.Uri.file(file));
};

const createExample: CommandFactory = (ctx) => async () => {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) {
    void vscode.window.showErrorMessage('Trainer: open a folder first; the example is written there.');
    return;
  }
  let dir = path.join(root, 'trainer-example');
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(root, `trainer-example-${i}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(exampleFiles())) fs.writeFileSync(path.join(dir, name), text);
  const config = path.join(dir, 'trainer.yaml');
  ctx.registry.readConfig(config);
  await vscode.window.showTextDocument(vscode.Uri.file(config));
};

const revealCheckpoint: CommandFactory = () => async (arg) => {
  if (!isCheckpointNode(arg)) return;
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(arg.path));
};

const deleteCheckpoint: CommandFactory = (ctx) => async (arg) => {
  const picked = await pickCheckpoint(ctx.registry, arg, { title: 'Delete Checkpoint' });
  if (!picked) return;
  const { run, checkpoint } = picked;
  if (isActive(run.status)) {
    void vscode.window.showErrorMessage(`Trainer: ${run.label} is running; delete checkpoints once it has stopped.`);
    return;
  }
  const ok = await vscode.window.showWarningMessage(`Delete ${checkpoint.name} of ${run.label} (step ${checkpoint.step})?`, { modal: true, detail: `${checkpoint.path} and everything in it is deleted.` }, 'Delete');
  if (ok !== 'Delete') return;
  const uri = vscode.Uri.file(checkpoint.path);
  try {
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
  } catch {
    // Remote and container file systems often have no trash.
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
  }
  ctx.registry.syncCheckpoints(run);
};

const showOutput: CommandFactory = (ctx) => async (arg) => {
  const run = runFromArg(ctx.registry, arg);
  if (run) ctx.controller.outputOf(run).show(true);
};

const refresh: CommandFactory = (ctx) => async () => {
  await ctx.registry.rescan();
  for (const run of ctx.registry.runs()) {
    ctx.registry.syncHistory(run);
    ctx.registry.syncCheckpoints(run);
  }
};

const manageTrust: CommandFactory = () => async () => {
  await vscode.commands.executeCommand('workbench.trust.manage');
};

export const COMMANDS: Record<CommandId, CommandFactory> = {
  'trainer.startTraining': startTraining,
  'trainer.stopTraining': stopTraining,
  'trainer.resumeFromCheckpoint': resumeFromCheckpoint,
  'trainer.resumeLatest': resumeLatest,
  'trainer.evaluateCheckpoint': evaluateCheckpoint,
  'trainer.predictWithCheckpoint': predictWithCheckpoint,
  'trainer.exportModel': exportModel,
  'trainer.tryModel': tryModel,
  'trainer.openMetrics': openMetrics,
  'trainer.newConfig': newConfig,
  'trainer.createExample': createExample,
  'trainer.revealCheckpoint': revealCheckpoint,
  'trainer.deleteCheckpoint': deleteCheckpoint,
  'trainer.showOutput': showOutput,
  'trainer.refresh': refresh,
  'trainer.manageTrust': manageTrust,
};
