// Built-in architectures, trainable from scratch: an MLP, a CNN for images, and (with a
// tokenizer) a BERT-style encoder. Each is generated as an ONNX graph in memory and from then on
// trained exactly like a user's ONNX file.

import { Graph } from '../onnx/graph';
import { Model, modelToProto } from '../onnx/model';
import { buildBert } from './bert';
import { buildCnn, buildMlp } from './vision';
import type { Task } from '../programs/tasks';

import { BuiltinName, defaultInputName } from './names';

export { BUILTINS, defaultInputName } from './names';
export type { BuiltinName } from './names';

export interface BuiltinConfig {
  builtin: BuiltinName;
  input_name?: string;
  hidden_sizes: number[];
  channels: number[];
  activation: 'relu' | 'gelu' | 'tanh';
  dropout?: number;
  num_hidden_layers: number;
  hidden_size: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  /** Built-in bert: the head (text-classification when absent). */
  task?: Task;
}

/** What a built-in bert needs to know of its tokenizer. */
export interface Vocabulary {
  size: number;
  padTokenId: number;
}


function asModel(graph: Graph, name: string): Model {
  return { path: `built-in ${name}`, graph, proto: modelToProto(graph) };
}

/** Builds a built-in model for samples of `sampleShape` (mlp, cnn) or a vocabulary (bert). */
export function buildBuiltin(cfg: BuiltinConfig, sampleShape: number[], numLabels: number, seed: number, vocab?: Vocabulary): Model {
  const inputName = cfg.input_name ?? defaultInputName(cfg.builtin);
  const dropout = cfg.dropout ?? 0;
  switch (cfg.builtin) {
    case 'mlp':
      return asModel(buildMlp({ inputName, sampleShape, hiddenSizes: cfg.hidden_sizes, activation: cfg.activation, dropout, numLabels, seed }), 'mlp');
    case 'cnn':
      return asModel(buildCnn({ inputName, sampleShape, channels: cfg.channels, dropout, numLabels, seed }), 'cnn');
    case 'bert':
      if (!vocab) throw new Error('the built-in bert needs a tokenizer');
      return asModel(buildBert({
        vocabSize: vocab.size, padTokenId: vocab.padTokenId, hiddenSize: cfg.hidden_size, numLayers: cfg.num_hidden_layers,
        numHeads: cfg.num_attention_heads, intermediateSize: cfg.intermediate_size, maxPositions: cfg.max_position_embeddings,
        dropout, numLabels, seed, task: cfg.task,
      }), 'bert');
  }
}
