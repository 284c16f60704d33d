// Writes an inference-ready model: the user's graph at its own opset, switched to inference
// form, with the trained tensors stored once in model.safetensors (named like the initializers,
// which for PyTorch exports are the state_dict keys) and model.onnx pointing into that file as
// ONNX external data. onnxruntime loads model.onnx as is; Python loads model.safetensors. A model
// that came in transformers.js's layout also gets onnx/model.onnx + onnx/model.onnx_data.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from '../onnx/generated/onnx';
import { Graph } from '../onnx/graph';
import { Model, modelToProto } from '../onnx/model';
import { SafetensorsLayout, writeSafetensors } from '../onnx/safetensors';
import { linkFileDurably, writeFileDurably } from '../io/durable';
import { Tensor, allocate } from '../onnx/tensor';
import type { TensorCopy } from './fileLimits';
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
    const [rows, cols] = src.dims;
    const data = allocate(src.type, src.data.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = src.data[r * cols + c];
    out.set(t.copy, { type: src.type, dims: [cols, rows], data });
  }
  return out;
}

/** Writes model.onnx + model.safetensors (+ config.json with the labels) into `dir`, which must exist. */
export function exportModel(model: Model, trained: Map<string, Tensor>, dir: string, card?: ModelCard): void {
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
  const transformersJs = cameAsTransformersJs(model);
  if (transformersJs) writeTransformersJsModel(graph, model, layout, dir);
  if (card) {
    const config = modelConfigJson(card);
    if (transformersJs) config['transformers.js_config'] = transformersJsConfig(config['transformers.js_config']);
    writeFileDurably(path.join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    for (const [name, text] of Object.entries(card.files ?? {})) writeFileDurably(path.join(dir, name), text);
  }
}

/**
 * config.json's `transformers.js_config` for the saved folder: the float32 file (dtype fp32) and
 * its weights as external data, in the per-file form Hugging Face's transformers.js repositories
 * use (`{"model.onnx": true}`); the source's other keys are kept.
 */
function transformersJsConfig(source: unknown): Record<string, unknown> {
  const base = source && typeof source === 'object' ? (source as Record<string, unknown>) : {};
  const external = base.use_external_data_format && typeof base.use_external_data_format === 'object' ? base.use_external_data_format as Record<string, unknown> : {};
  return { ...base, dtype: 'fp32', use_external_data_format: { ...external, [MODEL_FILE]: true } };
}

/** Whether the model was read from transformers.js's layout (the ONNX file under onnx/). */
function cameAsTransformersJs(model: Model): boolean {
  return path.basename(path.dirname(model.path)) === TRANSFORMERS_JS_FOLDER;
}

/**
 * transformers.js loads `onnx/model.onnx` and, with `use_external_data_format` in config.json's
 * `transformers.js_config`, the weights from `onnx/model.onnx_data` (fetched by that name in a
 * browser, handed to onnxruntime as the external data file "model.onnx_data"). That file is a
 * second name (hard link) of model.safetensors — the offsets into it are the same, so the weights
 * are stored once — and onnx/model.onnx is the same graph pointing into it.
 */
function writeTransformersJsModel(graph: Graph, model: Model, layout: SafetensorsLayout, dir: string): void {
  const folder = path.join(dir, TRANSFORMERS_JS_FOLDER);
  fs.mkdirSync(folder, { recursive: true });
  linkFileDurably(path.join(dir, WEIGHTS_FILE), path.join(folder, TRANSFORMERS_JS_DATA));
  const proto = modelToProto(graph, model.proto, (name) => {
    const at = layout.offsets.get(name);
    return at && { location: TRANSFORMERS_JS_DATA, offset: at.offset, length: at.length };
  });
  writeFileDurably(path.join(folder, MODEL_FILE), onnx.ModelProto.encode(proto).finish());
}
