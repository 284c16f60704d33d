// The engine (src/trainer/) must never import vscode: the lint rule is real and fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { ROOT } from './helpers';

test('importing vscode from src/trainer/ is a lint error; from the extension it is fine', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  const source = "import * as vscode from 'vscode';\nexport const x = vscode;\n";
  const [engine] = await eslint.lintText(source, { filePath: path.join(ROOT, 'src/trainer/probe.ts') });
  assert.ok(engine.messages.some((m) => m.ruleId === 'no-restricted-imports' && /never import vscode/.test(m.message)), JSON.stringify(engine.messages));
  const [extension] = await eslint.lintText(source, { filePath: path.join(ROOT, 'src/extension/probe.ts') });
  assert.ok(!extension.messages.some((m) => m.ruleId === 'no-restricted-imports'));
});
