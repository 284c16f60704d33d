// Built-in architectures, trainable from scratch: an MLP, a CNN for images, and (with a
// tokenizer) a BERT-style encoder. Each is generated as an ONNX graph in memory and from then on
// trained exactly like a user's ONNX file.

import { Graph } from '../onnx/graph';
import { Model, modelToProto } from '../onnx/model';
import { buildCnn, buildMlp } from './vision';

export const BUILTINS = ['mlp', 'cnn'] as const;
export type BuiltinName = (typeof BUILTINS)[number];

export interface BuiltinConfig {
  builtin: BuiltinName;
  input_name?: string;
  hidden_sizes: number[];
  channels: number[];
  activation: 'relu' | 'gelu' | 'tanh';
  dropout: number;
}

/** The data column a built-in model reads by default. */
export function defaultInputName(builtin: BuiltinName): string {
  return builtin === 'cnn' ? 'pixel_values' : 'features';
}

function asModel(graph: Graph, name: string): Model {
  return { path: `built-in ${name}`, graph, proto: modelToProto(graph) };
}

/** Builds a built-in model for samples of `sampleShape` (read from the data). */
export function buildBuiltin(cfg: BuiltinConfig, sampleShape: number[], numLabels: number, seed: number): Model {
  const inputName = cfg.input_name ?? defaultInputName(cfg.builtin);
  switch (cfg.builtin) {
    case 'mlp':
      return asModel(buildMlp({ inputName, sampleShape, hiddenSizes: cfg.hidden_sizes, activation: cfg.activation, dropout: cfg.dropout, numLabels, seed }), 'mlp');
    case 'cnn':
      return asModel(buildCnn({ inputName, sampleShape, channels: cfg.channels, dropout: cfg.dropout, numLabels, seed }), 'cnn');
  }
}
