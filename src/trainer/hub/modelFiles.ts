// Which files of a model folder or Hub repository make up the model to train: the float32 ONNX
// file (optimum keeps model.onnx at the root; transformers.js keeps onnx/model.onnx beside
// quantized variants), its external-data files, and the companion files (config, tokenizer)
// that are carried into every checkpoint and exported model.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

/** Files beside the model that describe it, in Hugging Face's layout. */
export const COMPANION_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** The float32 model in the two layouts exporters write, in the order they are looked for. */
const DEFAULT_MODEL_FILES = ['model.onnx', 'onnx/model.onnx'];

/**
 * Name suffixes of the variants transformers.js and optimum publish next to the float32 model
 * (quantized weights, or float16). Training needs float32 weights, so these are never chosen
 * unless named, and a named one is checked by its initializer types (onnx/quantized.ts).
 */
const VARIANT_SUFFIX = /_(quantized|int8|uint8|int4|uint4|q4|q4f16|q8|bnb4|fp16|float16)$/;

/** The float32 file a variant's name points to (onnx/model_int8.onnx → onnx/model.onnx), if the name says it is one. */
export function floatVariantOf(file: string): string | undefined {
  const m = /^(.*?)(\.onnx)$/.exec(file);
  if (!m || !VARIANT_SUFFIX.test(m[1])) return undefined;
  return m[1].replace(VARIANT_SUFFIX, '') + m[2];
}

/**
 * The ONNX file to train among `files` (paths relative to the folder or repository): the one the
 * config names, else model.onnx, else onnx/model.onnx, else the only float-named .onnx file.
 * `where` names the folder or repository in messages.
 */
export function chooseOnnxFile(files: readonly string[], where: string, requested?: string): string {
  if (requested) {
    if (!files.includes(requested)) throw new UserError(`${where} has no file ${requested}${onnxListing(files)}`);
    return requested;
  }
  const known = DEFAULT_MODEL_FILES.find((f) => files.includes(f));
  if (known) return known;
  const onnxFiles = files.filter((f) => f.endsWith('.onnx'));
  const floats = onnxFiles.filter((f) => floatVariantOf(f) === undefined);
  if (floats.length === 1) return floats[0];
  if (onnxFiles.length === 0) throw new UserError(`${where} holds no ONNX model (looked for ${DEFAULT_MODEL_FILES.join(' and ')}); export one with optimum-cli export onnx`);
  if (floats.length === 0) {
    throw new UserError(`${where} holds only quantized or float16 ONNX files (${onnxFiles.join(', ')}); training needs a float32 model: export one with optimum-cli export onnx`);
  }
  throw new UserError(`${where} holds several ONNX models (${floats.join(', ')}); name one with model.file_name`);
}

function onnxListing(files: readonly string[]): string {
  const onnxFiles = files.filter((f) => f.endsWith('.onnx'));
  return onnxFiles.length ? ` (its ONNX files: ${onnxFiles.join(', ')})` : '';
}

/**
 * External-data files that belong to `onnxFile`: `model.onnx_data` (torch.onnx and optimum),
 * `model.onnx.data` (onnx's own save), and transformers.js's chunks `model.onnx_data_1`, ….
 */
export function externalDataFiles(onnxFile: string, files: readonly string[]): string[] {
  return files.filter((f) => f === `${onnxFile}_data` || f === `${onnxFile}.data` || f.startsWith(`${onnxFile}_data_`));
}

/** Everything to fetch for training `onnxFile`: the model, its external data, the companion files present. */
export function filesToFetch(onnxFile: string, files: readonly string[]): string[] {
  return [onnxFile, ...externalDataFiles(onnxFile, files), ...COMPANION_FILES.filter((f) => files.includes(f))];
}

/** What a model folder hands on to every saved model: its config.json (parsed) and the other companion files' text. */
export interface Companions {
  config?: Record<string, unknown>;
  files: Record<string, string>;
}

/** Reads the companion files present in `folder` (none without a folder). */
export function readCompanions(folder: string | undefined): Companions {
  const out: Companions = { files: {} };
  if (!folder) return out;
  for (const name of COMPANION_FILES) {
    const file = path.join(folder, name);
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    if (name !== 'config.json') out.files[name] = text;
    else {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) out.config = parsed as Record<string, unknown>;
      } catch {
        throw new UserError(`${file} is not valid JSON`);
      }
    }
  }
  return out;
}
