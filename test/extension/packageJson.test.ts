// The manifest and the code agree: every command is contributed and implemented, menus name
// real commands, and the extension declares what the issue asks (trust, remote, schema).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_IDS } from '../../src/extension/commandIds';
import { ROOT } from '../helpers';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributed: { command: string; title: string; category: string }[] = pkg.contributes.commands;

test('every command in the table is contributed, in the Trainer category, and nothing else is', () => {
  assert.deepEqual(contributed.map((c) => c.command).sort(), [...COMMAND_IDS].sort());
  for (const c of contributed) assert.equal(c.category, 'Trainer', c.command);
  const titles = contributed.map((c) => c.title);
  for (const t of ['Start Training', 'Stop Training', 'Resume from Checkpoint', 'Evaluate Checkpoint', 'Predict with Checkpoint', 'Export Model', 'Open Metrics Panel', 'New Training Config']) assert.ok(titles.includes(t), t);
});

test('menus only name contributed commands', () => {
  const ids = new Set(contributed.map((c) => c.command));
  for (const [menu, items] of Object.entries(pkg.contributes.menus as Record<string, { command: string }[]>)) {
    for (const item of items) assert.ok(ids.has(item.command), `${menu}: ${item.command}`);
  }
});

test('runs need trust, training runs on the remote side, and the engine targets VS Code 1.100', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.equal(pkg.engines.vscode, '^1.100.0');
  assert.equal(pkg.devDependencies['@types/vscode'], '1.100.0');
  for (const c of contributed.filter((x) => /start|resume|evaluate|predict|export/i.test(x.command))) {
    assert.equal((c as { enablement?: string }).enablement, 'isWorkspaceTrusted', c.command);
  }
});

test('JSON configs get the generated schema; the walkthrough and views point at files that exist', () => {
  assert.deepEqual(pkg.contributes.jsonValidation, [{ fileMatch: ['trainer.json', '*.trainer.json'], url: './schemas/trainer.schema.json' }]);
  for (const step of pkg.contributes.walkthroughs[0].steps) assert.ok(fs.existsSync(path.join(ROOT, step.media.markdown)), step.media.markdown);
  assert.ok(fs.existsSync(path.join(ROOT, pkg.contributes.viewsContainers.activitybar[0].icon)));
  assert.equal(pkg.contributes.views.trainer[0].id, 'trainer.runs');
});
