// Runs found from the workspace's configs: each distinct output_dir is one run, named after the
// first config that writes to it. No `vscode` here.

import * as path from 'node:path';
import { ConfigSummary, runLabel } from './configFiles';

export interface IndexedRun {
  /** The run's id: its absolute, normalized output_dir. */
  id: string;
  outputDir: string;
  label: string;
  /** Config files writing to this directory, sorted. */
  configs: string[];
}

/** A run's id for an output_dir (case-folded where the file system is, on Windows and macOS). */
export function runIdOf(outputDir: string, platform: NodeJS.Platform = process.platform): string {
  const normalized = path.resolve(outputDir);
  return platform === 'win32' || platform === 'darwin' ? normalized.toLowerCase() : normalized;
}

/** Groups configs by output_dir; labels come from the workspace folder that holds each config. */
export function indexRuns(configs: readonly ConfigSummary[], rootOf: (file: string) => string | undefined): IndexedRun[] {
  const byId = new Map<string, IndexedRun>();
  for (const c of [...configs].sort((a, b) => a.file.localeCompare(b.file))) {
    const id = runIdOf(c.outputDir);
    const run = byId.get(id);
    if (run) run.configs.push(c.file);
    else byId.set(id, { id, outputDir: path.resolve(c.outputDir), label: runLabel(c.file, rootOf(c.file)), configs: [c.file] });
  }
  return [...byId.values()].sort((a, b) => a.label.localeCompare(b.label));
}
