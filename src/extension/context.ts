// The extension's one context object, built by activate(): it owns every disposable of the
// extension's lifetime (registry, views, providers, commands). What lives only as long as one
// trainer process is owned by that run's ActiveRun (see activeRun.ts).

import * as path from 'node:path';
import * as vscode from 'vscode';
import { CheckpointTree, TREE_VIEW_ID } from './checkpointTree';
import { ConfigLenses } from './codeLens';
import { COMMAND_IDS } from './commandIds';
import { COMMANDS } from './commands';
import { CONFIG_SELECTOR, ConfigLanguage } from './configLanguage';
import { DisposableStore } from './events';
import { MetricsPanels } from './metricsPanel';
import { RunRegistry } from './registry';
import { RunController } from './runController';
import { TrainingStatusBar } from './statusBar';
import { TryPanel, TryTarget } from './tryPanel';

export class Ctx implements vscode.Disposable {
  private readonly store = new DisposableStore();
  readonly registry: RunRegistry;
  readonly controller: RunController;
  readonly panels: MetricsPanels;
  readonly tree: CheckpointTree;
  /** dist/trainerProcess.js: what every trainer process runs. */
  readonly script: string;

  constructor(readonly extension: vscode.ExtensionContext) {
    const script = path.join(extension.extensionPath, 'dist', 'trainerProcess.js');
    this.script = script;
    this.registry = this.store.add(new RunRegistry());
    this.controller = this.store.add(new RunController(this.registry, script));
    this.panels = this.store.add(new MetricsPanels(extension.extensionUri, this.registry));
    this.tree = this.store.add(new CheckpointTree(this.registry));
    this.store.add(vscode.window.createTreeView(TREE_VIEW_ID, { treeDataProvider: this.tree, showCollapseAll: true }));
    const lenses = this.store.add(new ConfigLenses(this.registry));
    this.store.add(vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, lenses));
    this.store.add(new ConfigLanguage(this.registry));
    this.store.add(new TrainingStatusBar(this.registry));
    this.store.add(this.controller.onDidStart((active) => {
      const open = vscode.workspace.getConfiguration('trainer').get<boolean>('openMetricsOnStart', true);
      if (active.command === 'train' && open) this.panels.open(active.run.id, true);
    }));
    for (const id of COMMAND_IDS) this.store.add(vscode.commands.registerCommand(id, COMMANDS[id](this)));
  }

  /** Opens a Try view on a model; closed with the extension at the latest. */
  openTry(target: TryTarget): TryPanel {
    return this.store.add(TryPanel.open(target, this.script, this.extension.extensionUri));
  }

  dispose(): void {
    this.store.dispose();
  }
}
