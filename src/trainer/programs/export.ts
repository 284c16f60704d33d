// Writes an inference-ready model: the user's graph at its own opset, switched to inference
// form, with the trained tensors stored once in model.safetensors (named like the initializers,
// which for PyTorch exports are the state_dict keys) and model.onnx pointing into that file as
// ONNX external data. onnxruntime loads model.onnx as is; Python loads model.safetensors. A model
// that came in transformers.js's layout also gets onnx/model.onnx, which transformers.js loads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from '../onnx/generated/onnx';
import { Graph } from '../onnx/graph';
import { Model, PROTOBUF_LIMIT, encodeModelPieces, modelToProto } from '../onnx/model';
import { SafetensorsLayout, writeSafetensors } from '../onnx/safetensors';
import { linkFileDurably, writeFileDurably } from '../io/durable';
import { Tensor } from '../onnx/tensor';
import { TensorCopy, transposed } from './fileLimits';
import { toInferenceForm } from './lowering';
import { untieIdentityParameters } from './prepare';
import { CONFIG_FILE, MODEL_FILE, TRANSFORMERS_JS_DATA, TRANSFORMERS_JS_FOLDER, WEIGHTS_FILE } from '../runDirectory';

export { CONFIG_FILE, MODEL_FILE, WEIGHTS_FILE };


/** What config.json says about the model's outputs, with Hugging Face's keys. */
export interface ModelCard {
  /** optimum's task name (text-classification, token-classification, …). */
  task?: string;
  num_labels: number;
  problem_type: string;
  /** Label names by id (LABEL_<i> when the data had none). */
  labels?: string[];
  /** More files to write beside the model, by name (e.g. tokenizer.json). */
  files?: Record<string, string>;
  /** Copies trained as one tensor (model.tie_identical): each is written back from its source. */
  ties?: readonly TensorCopy[];
  /** The source model folder's config.json: its other keys are kept so optimum and transformers.js still load the folder. */
  base?: Record<string, unknown>;
}

export function modelConfigJson(card: ModelCard): Record<string, unknown> {
  const names = card.labels ?? Array.from({ length: card.num_labels }, (_, i) => `LABEL_${i}`);
  return {
    ...card.base,
    num_labels: card.num_labels,
    problem_type: card.problem_type,
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
    trainer: { format: 'onnx', model_file: MODEL_FILE, weights_file: WEIGHTS_FILE, task: card.task ?? 'text-classification' },
  };
}

/** The trained tensors plus each tied copy, recomputed from the tensor it was trained as. */
function withCopies(trained: Map<string, Tensor>, ties: readonly TensorCopy[]): Map<string, Tensor> {
  if (!ties.length) return trained;
  const out = new Map(trained);
  for (const t of ties) {
    const src = trained.get(t.of);
    if (!src) continue;
    if (!t.transposed) {
      out.set(t.copy, src);
      continue;
    }
    out.set(t.copy, transposed(src));
  }
  return out;
}

export interface ExportOptions {
  /**
   * transformers.js's onnx/model.onnx holds its weights inline when the file stays under this
   * many bytes (protobuf's 2 GiB, the default), else in onnx/model.onnx_data. Tests lower it.
   */
  inlineLimit?: number;
}

/** Writes model.onnx + model.safetensors (+ config.json with the labels) into `dir`, which must exist. */
export function exportModel(model: Model, trained: Map<string, Tensor>, dir: string, card?: ModelCard, opts: ExportOptions = {}): void {
  const graph = model.graph.clone();
  untieIdentityParameters(graph);
  toInferenceForm(graph);
  const stored = new Map<string, Tensor>();
  trained = withCopies(trained, card?.ties ?? []);
  for (const name of graph.initializers.keys()) {
    const t = trained.get(name);
    if (t) {
      graph.initializers.set(name, t);
      stored.set(name, t);
    }
  }
  for (const name of trained.keys()) {
    if (!graph.initializers.has(name)) throw new Error(`trained tensor "${name}" is not an initializer of ${model.path}`);
  }
  const layout = writeSafetensors(path.join(dir, WEIGHTS_FILE), stored, { format: 'pt', producer: 'onnx-trainer' });
  const proto = modelToProto(graph, model.proto, (name) => {
    const at = layout.offsets.get(name);
    return at && { location: WEIGHTS_FILE, offset: at.offset, length: at.length };
  });
  writeFileDurably(path.join(dir, MODEL_FILE), onnx.ModelProto.encode(proto).finish());
  const transformersJs = keepsTransformersJsLayout(model) ? writeTransformersJsModel(graph, model, layout, dir, opts.inlineLimit ?? PROTOBUF_LIMIT) : undefined;
  if (card) {
    const config = modelConfigJson(card);
    if (transformersJs) config['transformers.js_config'] = transformersJsConfig(config['transformers.js_config'], transformersJs === 'external');
    writeFileDurably(path.join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    for (const [name, text] of Object.entries(card.files ?? {})) writeFileDurably(path.join(dir, name), text);
  }
}

/**
 * config.json's `transformers.js_config` for the saved folder, from the source's. transformers.js
 * picks the file by `dtype` (fp32: model.onnx; its default in browsers is q8: model_quantized.onnx,
 * which the saved folder does not have) and fetches external data only where
 * `use_external_data_format` says so: `true`, a chunk count, or per file, by "model.onnx" or
 * "model". Settings per device (`device_config`) are laid over these, so theirs go too.
 */
function transformersJsConfig(source: unknown, external: boolean): Record<string, unknown> {
  const out = { ...asObject(source) };
  const perFile = { ...asObject(out.use_external_data_format) };
  delete perFile[MODEL_FILE];
  delete perFile[path.basename(MODEL_FILE, '.onnx')];
  delete out.use_external_data_format;
  // The per-file form is the one Hugging Face's transformers.js repositories write.
  if (external) perFile[MODEL_FILE] = true;
  if (Object.keys(perFile).length) out.use_external_data_format = perFile;
  if (out.device_config && typeof out.device_config === 'object') {
    out.device_config = Object.fromEntries(Object.entries(asObject(out.device_config)).map(([device, settings]) => {
      const { dtype: _dtype, use_external_data_format: _external, ...rest } = asObject(settings);
      return [device, rest];
    }));
  }
  return { ...out, dtype: 'fp32' };
}

function asObject(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Whether saved folders keep transformers.js's layout: the model was read as onnx/<name>.onnx,
 * or from a folder Trainer saved that way (its model.onnx beside onnx/model.onnx), so that a
 * second fine-tune keeps the layout too.
 */
function keepsTransformersJsLayout(model: Model): boolean {
  const folder = path.dirname(model.path);
  return path.basename(folder) === TRANSFORMERS_JS_FOLDER || fs.existsSync(path.join(folder, TRANSFORMERS_JS_FOLDER, MODEL_FILE));
}

/**
 * Writes onnx/model.onnx, where transformers.js loads it (subfolder "onnx", file "model" + the
 * dtype's suffix, none for fp32). Under protobuf's limit the weights are inline, as in the Hub's
 * transformers.js repositories under 2 GB, which every transformers.js version loads (3.0–3.3
 * refuse external data in Node). Above it they go to onnx/model.onnx_data, the name
 * transformers.js fetches (and, in a browser, hands to onnxruntime as "model.onnx_data"): a
 * second name (hard link) of model.safetensors, whose offsets they share, so the weights are
 * stored once. Returns where the weights went.
 */
function writeTransformersJsModel(graph: Graph, model: Model, layout: SafetensorsLayout, dir: string, inlineLimit: number): 'inline' | 'external' {
  const folder = path.join(dir, TRANSFORMERS_JS_FOLDER);
  fs.mkdirSync(folder, { recursive: true });
  const pieces = encodeModelPieces(graph, model.proto);
  if (pieces.reduce((n, p) => n + p.byteLength, 0) < inlineLimit) {
    writeFileDurably(path.join(folder, MODEL_FILE), pieces);
    // A folder saved again (output_dir, an export folder) keeps no weights file of an earlier save.
    for (const name of fs.readdirSync(folder)) if (name === TRANSFORMERS_JS_DATA || name.startsWith(`${TRANSFORMERS_JS_DATA}_`)) fs.rmSync(path.join(folder, name), { force: true });
    return 'inline';
  }
  linkFileDurably(path.join(dir, WEIGHTS_FILE), path.join(folder, TRANSFORMERS_JS_DATA));
  const proto = modelToProto(graph, model.proto, (name) => {
    const at = layout.offsets.get(name);
    return at && { location: TRANSFORMERS_JS_DATA, offset: at.offset, length: at.length };
  });
  writeFileDurably(path.join(folder, MODEL_FILE), onnx.ModelProto.encode(proto).finish());
  return 'external';
}
