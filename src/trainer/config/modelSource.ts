// Where model.path leads: an ONNX file, a model folder as exporters write it (optimum's
// model.onnx at the root, transformers.js's onnx/model.onnx, with config.json and tokenizer
// files), or a Hub repository (hf://ORG/NAME[@revision], or model.hub) whose files are in
// huggingface_hub's cache — the CLI downloads them before the config is read (cli.ts).

import { TASKS, Task, taskOfArchitectures } from '../programs/tasks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProblemType } from '../programs/lossHeads';
import { findCachedModel } from '../hub/cache';
import { chooseOnnxFile } from '../hub/modelFiles';
import { HubReference, HubReferenceError, isHubPath, parseHubReference } from '../hub/reference';
import { hubSettings } from '../hub/settings';
import { ConfigDocument } from './document';
import { UserError } from '../errors';

/** What a model folder or Hub snapshot adds to the model section. */
export interface ModelSource {
  path?: string;
  hub?: HubReference;
  /** The folder holding config.json and the tokenizer files, carried into every saved model. */
  folder?: string;
  tokenizer?: string;
  num_labels?: number;
  problem_type?: ProblemType;
  /** From config.json's `architectures` (BertForTokenClassification → token-classification), or the task Trainer saved. */
  task?: Task;
  id2label?: string[];
}

/**
 * The Hub model a config names, read from the raw document (so that the CLI can download it
 * before the rest of the config is checked), or undefined for local models.
 */
export function hubReferenceIn(doc: ConfigDocument): HubReference | undefined {
  const model = (doc.data as { model?: unknown } | null)?.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') return undefined;
  const text = (k: string) => (typeof model[k] === 'string' ? model[k] as string : undefined);
  const key = typeof model.path === 'string' && isHubPath(model.path) ? 'path' : typeof model.hub === 'string' ? 'hub' : undefined;
  if (!key) return undefined;
  try {
    return parseHubReference(text(key)!, { revision: text('revision'), file: text('file_name') });
  } catch (e) {
    if (e instanceof HubReferenceError) throw doc.error(['model', key], e.message);
    throw e;
  }
}

/** Files directly in a folder and in its onnx/ subfolder (transformers.js), as relative paths. */
export function folderFiles(dir: string): string[] {
  const out = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  const sub = path.join(dir, 'onnx');
  if (fs.existsSync(sub) && fs.statSync(sub).isDirectory()) out.push(...fs.readdirSync(sub).map((f) => `onnx/${f}`));
  return out;
}

/**
 * Resolves model.path / model.hub into the ONNX file to load, and reads what a model folder's
 * config.json and tokenizer.json say. `given` holds the keys the config file set itself, which win.
 */
export function resolveModelSource(doc: ConfigDocument, given: { path?: string; file_name?: string; tokenizer?: string }): ModelSource {
  const hub = hubReferenceIn(doc);
  if (hub) {
    let cached;
    try {
      cached = findCachedModel(hub, hubSettings());
    } catch (e) {
      // A cached snapshot without a float32 model, for example: the message belongs at the model's key.
      if (e instanceof UserError) throw doc.error(['model', given.path !== undefined ? 'path' : 'hub'], e.message);
      throw e;
    }
    // Not downloaded yet (the editor's diagnostics read configs without downloading): the job says so.
    if (!cached) return { hub };
    return { hub, ...readModelFolder(doc, cached.snapshot, cached.onnxFile, given.tokenizer) };
  }
  const p = given.path;
  if (!p || !fs.existsSync(p) || !fs.statSync(p).isDirectory()) return { path: p };
  let onnxFile: string;
  try {
    onnxFile = chooseOnnxFile(folderFiles(p), p, given.file_name);
  } catch (e) {
    throw doc.error(['model', given.file_name ? 'file_name' : 'path'], (e as Error).message);
  }
  return readModelFolder(doc, p, onnxFile, given.tokenizer);
}

/**
 * A Hugging Face-style model folder: the ONNX file, and config.json (num_labels, problem_type,
 * id2label) and tokenizer.json when present, each used unless the config file says otherwise.
 */
function readModelFolder(doc: ConfigDocument, dir: string, onnxFile: string, tokenizerGiven: string | undefined): ModelSource {
  const source: ModelSource = { path: path.join(dir, onnxFile), folder: dir };
  const tokenizer = path.join(dir, 'tokenizer.json');
  if (!tokenizerGiven && fs.existsSync(tokenizer)) source.tokenizer = tokenizer;
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) return source;
  let card: Record<string, unknown>;
  try {
    card = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw doc.error(['model', 'path'], `${cfgFile} is not valid JSON (${(e as Error).message})`);
  }
  // The folder's config.json is the user's file too: a bad value there is blamed on its key.
  const bad = (key: string, expected: string) => new UserError(`${cfgFile}: ${key}: expected ${expected}, got ${JSON.stringify(card[key])}`);
  if (card === null || typeof card !== 'object' || Array.isArray(card)) throw new UserError(`${cfgFile}: expected a JSON object`);
  if (card.num_labels !== undefined && !(Number.isInteger(card.num_labels) && (card.num_labels as number) >= 1)) throw bad('num_labels', 'an integer ≥ 1');
  const problemTypes = ['single_label_classification', 'multi_label_classification', 'regression'];
  if (card.problem_type !== undefined && card.problem_type !== null && !problemTypes.includes(card.problem_type as string)) throw bad('problem_type', `one of ${problemTypes.join(', ')} (or null)`);
  if (card.id2label !== undefined && card.id2label !== null && (typeof card.id2label !== 'object' || Array.isArray(card.id2label))) throw bad('id2label', 'an object {"0": name, …}');
  const id2label = (card.id2label ?? undefined) as Record<string, string> | undefined;
  if (typeof card.num_labels === 'number') source.num_labels = card.num_labels;
  else if (id2label && typeof id2label === 'object') source.num_labels = Object.keys(id2label).length;
  if (typeof card.problem_type === 'string') source.problem_type = card.problem_type as ProblemType;
  const saved = (card.trainer as { task?: string } | undefined)?.task;
  if (Array.isArray(card.architectures)) source.task = taskOfArchitectures(card.architectures.filter((a): a is string => typeof a === 'string'));
  if (!source.task && saved && (TASKS as readonly string[]).includes(saved)) source.task = saved as Task;
  if (id2label && typeof id2label === 'object' && !Object.values(id2label).every((v, i) => v === `LABEL_${i}`)) {
    source.id2label = Array.from({ length: Object.keys(id2label).length }, (_, i) => id2label[String(i)]);
  }
  return source;
}
