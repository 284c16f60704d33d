// Shared test helpers: temporary folders, running the real CLI, writing configs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { stringify } from 'yaml';

export const ROOT = path.resolve(__dirname, '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** The folder of the exported model NAME: test/fixtures/exports, exports-probe, tasks or tasks-probe, wherever it is (their names do not repeat). */
export function exportDir(name: string): string {
  for (const kind of ['exports', 'exports-probe', 'tasks', 'tasks-probe']) {
    const dir = path.join(FIXTURES, kind, name);
    if (fs.existsSync(dir)) return dir;
  }
  throw new Error(`no exported model named ${name} in test/fixtures`);
}

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `trainer-${name}-`));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (bin/onnx-trainer.js) as a separate process. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'onnx-trainer.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Writes a YAML config into `dir` and returns its path. */
export function writeConfig(dir: string, config: unknown, name = 'trainer.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, stringify(config));
  return file;
}

/** Copies a fixture folder's files into `dir`. */
export function copyFixture(fixture: string, dir: string): void {
  for (const f of fs.readdirSync(fixture)) fs.copyFileSync(path.join(fixture, f), path.join(dir, f));
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
