// Editing configs: the engine's own validation as diagnostics in the Problems panel (YAML and
// JSON; JSON also gets the JSON Schema through contributes.jsonValidation), a warning for data
// and model files that do not exist, and hover documentation for every key of a YAML config.
// Open configs are checked as they are typed; the workspace's other configs as saved on disk.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isMap, isScalar, parseDocument } from 'yaml';
import { CONFIG_PATTERN, isTrainerConfig, summarizeConfig } from './configFiles';
import { hoverMarkdown, keyAt, lineSpan } from './configDocs';
import { DisposableStore } from './events';
import type { RunRegistry } from './registry';

export const CONFIG_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: CONFIG_PATTERN },
];

const YAML_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'yaml', pattern: '**/{trainer,*.trainer}.{yaml,yml}' },
];

/** Diagnostics of one config text: the engine's first error, then missing files. */
export function diagnose(file: string, text: string): vscode.Diagnostic[] {
  const lines = text.split(/\r?\n/);
  const at = (line: number | undefined, key: string | undefined) => {
    const l = Math.min(Math.max((line ?? 1) - 1, 0), Math.max(lines.length - 1, 0));
    const [a, b] = lineSpan(lines[l] ?? '', key);
    return new vscode.Range(l, a, l, b);
  };
  const out: vscode.Diagnostic[] = [];
  const summary = summarizeConfig(file, text);
  if (summary.problem) {
    const d = new vscode.Diagnostic(at(summary.problem.line, summary.problem.key), summary.problem.message, vscode.DiagnosticSeverity.Error);
    d.source = 'trainer';
    out.push(d);
    return out;
  }
  for (const m of missingFiles(file, text)) {
    const d = new vscode.Diagnostic(at(m.line, m.key), `${m.key}: file not found: ${m.path}`, vscode.DiagnosticSeverity.Warning);
    d.source = 'trainer';
    out.push(d);
  }
  return out;
}

/** model.path and data.* entries that name files which do not exist. */
function missingFiles(file: string, text: string): { key: string; line: number; path: string }[] {
  const doc = parseDocument(text);
  const out: { key: string; line: number; path: string }[] = [];
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  const check = (section: string, keys: string[]) => {
    const node = doc.get(section, true);
    if (!isMap(node)) return;
    for (const pair of node.items) {
      if (!isScalar(pair.key) || !keys.includes(String(pair.key.value)) || !isScalar(pair.value) || typeof pair.value.value !== 'string') continue;
      const p = path.resolve(path.dirname(file), pair.value.value);
      if (!fs.existsSync(p)) out.push({ key: `${section}.${pair.key.value}`, line: lineOf(pair.key.range?.[0] ?? 0), path: p });
    }
  };
  check('model', ['path']);
  check('data', ['train', 'eval', 'test']);
  return out;
}

export class ConfigLanguage implements vscode.HoverProvider, vscode.Disposable {
  private readonly store = new DisposableStore();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('trainer');
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly registry: RunRegistry) {
    this.store.add(this.diagnostics);
    this.store.add(registry.onDidChangeRuns(() => this.checkClosed()));
    this.store.add(vscode.languages.registerHoverProvider(YAML_SELECTOR, this));
    this.store.add(vscode.workspace.onDidOpenTextDocument((d) => this.check(d)));
    this.store.add(vscode.workspace.onDidChangeTextDocument((e) => this.check(e.document, 300)));
    this.store.add(vscode.workspace.onDidCloseTextDocument((d) => this.checkFromDisk(d.uri)));
    this.store.onDispose(() => {
      for (const t of this.timers.values()) clearTimeout(t);
    });
    for (const d of vscode.workspace.textDocuments) this.check(d);
  }

  private check(doc: vscode.TextDocument, delayMs = 0) {
    if (doc.uri.scheme !== 'file' || !isTrainerConfig(doc.uri.fsPath)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      if (doc.isClosed) return;
      this.diagnostics.set(doc.uri, diagnose(doc.uri.fsPath, doc.getText()));
    }, delayMs));
  }

  /** Configs no editor has open are checked as they are on disk (the registry re-reads them on change). */
  private checkClosed() {
    const open = new Set(vscode.workspace.textDocuments.map((d) => d.uri.toString()));
    const known = new Set<string>();
    for (const c of this.registry.configs()) {
      const uri = vscode.Uri.file(c.file);
      known.add(uri.toString());
      if (!open.has(uri.toString())) this.checkFromDisk(uri);
    }
    this.diagnostics.forEach((uri) => {
      if (!known.has(uri.toString()) && !open.has(uri.toString())) this.diagnostics.delete(uri);
    });
  }

  private checkFromDisk(uri: vscode.Uri) {
    if (uri.scheme !== 'file' || !isTrainerConfig(uri.fsPath)) return;
    let text: string;
    try {
      text = fs.readFileSync(uri.fsPath, 'utf8');
    } catch {
      this.diagnostics.delete(uri);
      return;
    }
    this.diagnostics.set(uri, diagnose(uri.fsPath, text));
  }

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const hit = keyAt(doc.getText(), doc.offsetAt(position));
    if (!hit) return undefined;
    const md = hoverMarkdown(hit.path);
    if (!md) return undefined;
    return new vscode.Hover(new vscode.MarkdownString(md), new vscode.Range(doc.positionAt(hit.start), doc.positionAt(hit.end)));
  }

  dispose(): void {
    this.store.dispose();
  }
}
