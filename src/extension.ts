// The VS Code extension's entry: activate() builds the one context object (src/extension/context.ts)
// that owns everything; deactivate() stops running trainers (each saves a checkpoint when it can)
// and disposes it.

import type * as vscode from 'vscode';
import { Ctx } from './extension/context';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
}

export async function deactivate(): Promise<void> {
  const current = ctx;
  ctx = undefined;
  if (!current) return;
  await current.controller.shutdown();
  current.dispose();
}
