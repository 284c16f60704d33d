// Writes an inference-ready model: the user's graph at its own opset, switched to inference
// form, with the trained tensors stored once in model.safetensors (named like the initializers,
// which for PyTorch exports are the state_dict keys) and model.onnx pointing into that file as
// ONNX external data. onnxruntime loads model.onnx as is; Python loads model.safetensors.

import * as path from 'node:path';
import { onnx } from '../onnx/generated/onnx';
import { Model, modelToProto } from '../onnx/model';
import { writeSafetensors } from '../onnx/safetensors';
import { writeFileDurably } from '../io/durable';
import { Tensor, allocate } from '../onnx/tensor';
import type { TensorCopy } from './fileLimits';
import { toInferenceForm } from './lowering';
import { untieIdentityParameters } from './prepare';
import { CONFIG_FILE, MODEL_FILE, WEIGHTS_FILE } from '../runDirectory';

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
  if (card) {
    writeFileDurably(path.join(dir, CONFIG_FILE), JSON.stringify(modelConfigJson(card), null, 2) + '\n');
    for (const [name, text] of Object.entries(card.files ?? {})) writeFileDurably(path.join(dir, name), text);
  }
}
