// The "Runs" tree in the Trainer activity-bar container: runs → checkpoints, from treeModel.ts.
// Refreshed by the registry's events (file-system watchers and live process messages).

import * as vscode from 'vscode';
import { DisposableStore, Throttle } from './events';
import type { RunRegistry } from './registry';
import { TreeNode, checkpointNodes, isActive, runNode, treeSignature } from './treeModel';

export const TREE_VIEW_ID = 'trainer.runs';

const ICONS = {
  running: new vscode.ThemeIcon('sync~spin'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')),
  finished: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  stopped: new vscode.ThemeIcon('debug-pause'),
  idle: new vscode.ThemeIcon('beaker'),
  problem: new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground')),
};

export class CheckpointTree implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<TreeNode | undefined | void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly store = new DisposableStore();

  constructor(private readonly registry: RunRegistry) {
    this.store.add(this.changeEmitter);
    // Redraws only when what it shows changed (treeSignature says why), at most twice a second,
    // and every 2 s while a run trains: VS Code debounces a tree's change events (200 ms, restarted
    // by each event), so firing on every progress message would starve the tree of redraws; and
    // on a busy machine (the trainer on every core) the window fell seconds behind the redraws,
    // then read the tree again for each one in a row, each time replacing the rows' click
    // commands, so that a click right after a stop was lost (the VS Code e2e test saw it).
    const redraw = this.store.add(new Throttle(() => {
      if (treeSignature(this.registry.runs()) !== this.drawn) this.changeEmitter.fire();
    }, () => (this.registry.runs().some((r) => isActive(r.status)) ? 2000 : 500)));
    this.store.add(registry.onDidChangeListing(() => redraw.request()));
  }

  /** What the tree showed when VS Code last read it. */
  private drawn: string | undefined;

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      const runs = this.registry.runs();
      this.drawn = treeSignature(runs);
      return runs.map(runNode);
    }
    if (node.kind === 'checkpoint') return [];
    const run = this.registry.get(node.runId);
    return run ? checkpointNodes(run) : [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node.kind === 'run') return undefined;
    const run = this.registry.get(node.runId);
    return run ? runNode(run) : undefined;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    if (node.kind === 'run') {
      const item = new vscode.TreeItem(node.label, node.hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      // A run that gets its first checkpoint becomes a new element, so it opens expanded; after
      // that VS Code keeps whatever the user chose.
      item.id = `run:${node.runId}:${node.hasChildren ? 'checkpoints' : 'empty'}`;
      item.description = node.description;
      item.tooltip = node.tooltip;
      item.iconPath = ICONS[node.icon];
      item.contextValue = node.contextValue;
      item.accessibilityInformation = { label: `${node.label}, ${node.description}` };
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = `checkpoint:${node.path}`;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.iconPath = node.best ? new vscode.ThemeIcon('star-full', new vscode.ThemeColor('charts.yellow')) : new vscode.ThemeIcon('save');
    item.contextValue = node.contextValue;
    item.accessibilityInformation = { label: `${node.label}, ${node.description}` };
    if (node.resumable) item.command = { command: 'trainer.resumeFromCheckpoint', title: 'Resume from Checkpoint', arguments: [node] };
    return item;
  }

  dispose(): void {
    this.store.dispose();
  }
}
