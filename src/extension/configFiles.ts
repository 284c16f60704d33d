// Which files are trainer configs, and what the extension needs from one without training:
// where its run directory is, how its best checkpoint is chosen, and the first problem in it
// (for the Problems panel). No `vscode` here: unit tests run it in plain Node.

import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../trainer/config/config';
import { ConfigDocument } from '../trainer/config/document';
import { TRAINING_FIELDS } from '../trainer/config/trainingArguments';
import { ConfigError, UserError } from '../trainer/errors';

/** The glob VS Code's file search and watchers use for trainer configs. */
export const CONFIG_GLOB = '**/{trainer,*.trainer}.{yaml,yml,json}';
/** Folders never searched for configs. */
export const CONFIG_EXCLUDE = '{**/node_modules/**,**/.git/**,**/.cache/**}';
/** A document selector pattern for the same files (code lenses, hovers, diagnostics). */
export const CONFIG_PATTERN = '**/{trainer,*.trainer}.{yaml,yml,json}';

const CONFIG_NAME = /^(?:trainer|.+\.trainer)\.(?:ya?ml|json)$/;

/** Whether a file name (or path) is a trainer config: trainer.yaml|yml|json or *.trainer.yaml|yml|json. */
export function isTrainerConfig(file: string): boolean {
  return CONFIG_NAME.test(path.basename(file));
}

export interface ConfigProblem {
  /** 1-based line, when the engine could tell it. */
  line?: number;
  key?: string;
  message: string;
}

export interface ConfigSummary {
  file: string;
  /** Absolute output_dir (the run directory), also when the config has an error elsewhere. */
  outputDir: string;
  metricForBest: string | null;
  greaterIsBetter: boolean | null;
  /** The first problem the engine finds, or undefined when the config is valid. */
  problem?: ConfigProblem;
}

/** The problem a ConfigError describes, without the "file:line: key: " prefix the CLI prints. */
export function problemOf(e: UserError): ConfigProblem {
  if (!(e instanceof ConfigError)) return { message: e.message };
  let message = e.message;
  const prefix = `${e.file}${e.line ? `:${e.line}` : ''}: `;
  if (message.startsWith(prefix)) message = message.slice(prefix.length);
  if (e.key && message.startsWith(`${e.key}: `)) message = message.slice(e.key.length + 2);
  return { line: e.line, key: e.key, message: e.key ? `${e.key}: ${message}` : message };
}

/** Reads what the extension needs from a config's text; never throws. */
export function summarizeConfig(file: string, text: string): ConfigSummary {
  const dir = path.dirname(file);
  try {
    const config = parseConfig(ConfigDocument.parse(file, text));
    return {
      file,
      outputDir: config.training.output_dir,
      metricForBest: config.training.metric_for_best_model,
      greaterIsBetter: config.training.greater_is_better,
    };
  } catch (e) {
    const problem = e instanceof UserError ? problemOf(e) : { message: (e as Error).message };
    // A config with a mistake still names its run directory: the runs already there stay visible.
    const training = lenientTraining(text);
    const out = typeof training.output_dir === 'string' ? training.output_dir : String(TRAINING_FIELDS.output_dir.default);
    const metric = typeof training.metric_for_best_model === 'string' ? training.metric_for_best_model : null;
    const gib = typeof training.greater_is_better === 'boolean' ? training.greater_is_better : metric ? !metric.endsWith('loss') : null;
    return { file, outputDir: path.resolve(dir, out), metricForBest: metric, greaterIsBetter: gib, problem };
  }
}

function lenientTraining(text: string): Record<string, unknown> {
  try {
    const data = parseYaml(text) as { training?: unknown } | null;
    const t = data && typeof data === 'object' ? data.training : undefined;
    return t && typeof t === 'object' && !Array.isArray(t) ? (t as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * A short name for a run: the config's folder relative to the workspace, plus the config's name
 * when it is not plain trainer.yaml ("examples/digits", "experiments/small.trainer.yaml").
 */
export function runLabel(configFile: string, workspaceRoot: string | undefined): string {
  const dir = path.dirname(configFile);
  const base = path.basename(configFile);
  const plain = /^trainer\.(?:ya?ml|json)$/.test(base);
  const relDir = workspaceRoot ? path.relative(workspaceRoot, dir) : '';
  const insideRoot = workspaceRoot !== undefined && !relDir.startsWith('..') && !path.isAbsolute(relDir);
  const folder = insideRoot ? relDir.split(path.sep).join('/') : path.basename(dir);
  if (plain) return folder || path.basename(workspaceRoot ?? dir);
  const name = base.replace(/\.trainer\.(?:ya?ml|json)$/, '');
  return folder ? `${folder}/${name}` : name;
}
