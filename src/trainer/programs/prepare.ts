// Turns a loaded model into the form every program starts from: one opset, Constant nodes as
// initializers, exporter-deduplicated parameters untied again, and the float initializers
// sorted into trainable parameters, batch-norm running statistics, and frozen constants.

import { GraphBuilder } from '../onnx/builder';
import { Graph, ValueInfo, attrTensor, sortTopologically } from '../onnx/graph';
import { Model } from '../onnx/model';
import { upgradeOpset } from '../onnx/opset';
import { ShapeMismatchError } from '../onnx/shapes';
import { DataType, Tensor, cloneTensor, fromNumbers, isFloatType } from '../onnx/tensor';
import { planGradients } from '../autodiff/backward';
import * as path from 'node:path';
import { inlineDecidedIfs } from './controlFlow';
import { decays } from './decay';
import { FrozenReason, selectTrainable } from './trainable';
import { TensorCopy, derivedCopy, fileWarnings, findCopies } from './fileLimits';
import { Task, taskOutputs } from './tasks';

export interface ParameterInfo {
  name: string;
  dims: number[];
  /** Hugging Face's decay group: never biases or normalization weights (decay.ts). */
  decay: boolean;
}

export interface PreparedModel {
  model: Model;
  graph: Graph;
  /** Trainable parameters in graph order. */
  params: ParameterInfo[];
  /** Batch-norm running means and variances, updated by training but not by gradients. */
  buffers: string[];
  /** Float initializers that stay constant (scalars, values the outputs do not depend on). */
  frozen: string[];
  /** Why each frozen float initializer is not trained. */
  frozenReasons: Map<string, FrozenReason>;
  /** Copies trained as the tensor they copy (model.tie_identical); export writes them back. */
  ties: TensorCopy[];
  /** What the file cannot reproduce of PyTorch's training (folded BatchNorm, untied copies). */
  warnings: string[];
  /** Graph inputs the data must feed. */
  inputs: ValueInfo[];
  /** The output the loss head reads (question answering: the first of `outputs`). */
  logits: string;
  /** Every output the loss head reads, in the task's order. */
  outputs: string[];
  /** The token-embedding row of the padding id, which gets no gradient (paddingRow.ts). */
  paddingRow?: { param: string; row: number };
}

/**
 * Replaces Constant nodes by initializers, so constants have one representation, and returns
 * their names: an exporter writes compile-time constants (attention scales, folded buffers) as
 * Constant nodes, never PyTorch parameters, so these are never trained.
 */
export function constantsToInitializers(graph: Graph): Set<string> {
  const names = new Set<string>();
  const kept = [];
  for (const n of graph.nodes) {
    if (n.op !== 'Constant' || n.domain !== '') {
      kept.push(n);
      continue;
    }
    const t = constantValue(n.attrs);
    if (!t) {
      kept.push(n);
      continue;
    }
    graph.initializers.set(n.outputs[0], t);
    names.add(n.outputs[0]);
  }
  graph.nodes = kept;
  return names;
}

function constantValue(attrs: Graph['nodes'][number]['attrs']): Tensor | undefined {
  const t = attrTensor({ attrs } as Graph['nodes'][number], 'value');
  if (t) return t;
  const a = attrs.get('value_float') ?? attrs.get('value_floats') ?? attrs.get('value_int') ?? attrs.get('value_ints');
  if (!a) return undefined;
  if (a.kind === 'float') return fromNumbers(DataType.FLOAT, [], [a.value]);
  if (a.kind === 'floats') return fromNumbers(DataType.FLOAT, [a.value.length], a.value);
  if (a.kind === 'int') return fromNumbers(DataType.INT64, [], [a.value]);
  if (a.kind === 'ints') return fromNumbers(DataType.INT64, [a.value.length], a.value);
  return undefined;
}

/**
 * PyTorch's exporter merges parameters that happen to hold equal values (freshly initialized
 * biases and norm scales) into one initializer read through Identity nodes. In PyTorch they are
 * separate parameters, so each Identity becomes an initializer of its own again.
 */
export function untieIdentityParameters(graph: Graph): string[] {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const untied: string[] = [];
  graph.nodes = graph.nodes.filter((n) => {
    if (n.op !== 'Identity' || n.domain !== '') return true;
    const src = graph.initializers.get(n.inputs[0]);
    if (!src || !isFloatType(src.type) || outputs.has(n.outputs[0])) return true;
    graph.initializers.set(n.outputs[0], cloneTensor(src));
    untied.push(n.outputs[0]);
    return false;
  });
  return untied;
}

/** Names of batch-norm running statistics (inputs 3 and 4 of every BatchNormalization). */
export function batchNormBuffers(graph: Graph): string[] {
  const out: string[] = [];
  for (const n of graph.nodes) {
    if (n.op !== 'BatchNormalization') continue;
    for (const i of [3, 4]) if (n.inputs[i] && graph.initializers.has(n.inputs[i])) out.push(n.inputs[i]);
  }
  return [...new Set(out)];
}

/** Makes every reader of a copy read the tensor it copies (through a Transpose where transposed). */
function tieCopies(graph: Graph, ties: readonly TensorCopy[]): void {
  const b = new GraphBuilder(graph);
  const source = new Map<string, string>();
  for (const t of ties) source.set(t.copy, t.transposed ? b.transpose(t.of, [1, 0]) : t.of);
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => source.get(i) ?? i);
  sortTopologically(graph);
}

export interface PrepareOptions {
  /** The model output the loss reads; default: the first graph output. */
  output?: string;
  /** Parameters to keep frozen (exact names). */
  freeze?: string[];
  /** When set, only initializers matching these globs (or read by nodes whose names match) train. */
  trainable?: string[];
  /** Train exact copies of a tensor (and transposed copies) as that one tensor. */
  tieIdentical?: boolean;
  /** Train these initializers only and freeze every other (LoRA: the adapters). */
  trainOnly?: string[];
  /** Decides which outputs the loss reads (question answering: start_logits and end_logits). */
  task?: Task;
}

export class PrepareError extends Error {}

export function prepareModel(model: Model, opts: PrepareOptions = {}): PreparedModel {
  try {
    return prepare(model, opts);
  } catch (e) {
    // The first shape inference over the file meets its defects: name the file and the node.
    if (e instanceof ShapeMismatchError) {
      throw new PrepareError(`${model.path}: ${e.message}; onnxruntime cannot run this graph either, so the exporter wrote it wrongly: export the model again (or with PyTorch's other exporter)`);
    }
    throw e;
  }
}

function prepare(model: Model, opts: PrepareOptions): PreparedModel {
  const graph = upgradeOpset(model.graph, model.path);
  inlineDecidedIfs(graph, path.dirname(model.path));
  const constants = constantsToInitializers(graph);
  untieIdentityParameters(graph);
  const outputs = taskOutputs(opts.task ?? 'text-classification', graph.outputs.map((o) => o.name), opts.output);
  for (const name of outputs) {
    if (!name || !graph.outputs.some((o) => o.name === name)) {
      throw new PrepareError(`${model.path} has no output named "${name}" (outputs: ${graph.outputs.map((o) => o.name).join(', ')})`);
    }
  }
  const logits = outputs[0];
  const buffers = batchNormBuffers(graph);
  const selection = selectTrainable(graph, { constants, runningStats: buffers, freeze: opts.freeze, trainable: opts.trainable, trainOnly: opts.trainOnly });
  const ties = opts.tieIdentical ? findCopies(graph, selection.candidates) : [];
  if (ties.length) {
    tieCopies(graph, ties);
    for (const t of ties) {
      const derived = derivedCopy(t, () => graph.initializers.get(t.of)!);
      model.graph.initializers.set(t.copy, derived);
      graph.initializers.set(t.copy, derived);
      selection.candidates.splice(selection.candidates.indexOf(t.copy), 1);
      selection.frozen.set(t.copy, 'tied');
    }
  }
  const b = new GraphBuilder(graph.clone());
  const plan = planGradients(b, b.graph.nodes, selection.candidates, outputs);
  const readers = graph.consumers();
  const params: ParameterInfo[] = selection.candidates.filter((n) => plan.needed.has(n)).map((name) => {
    const dims = graph.initializers.get(name)!.dims;
    return { name, dims: [...dims], decay: decays(name, dims.length, readers.get(name) ?? []) };
  });
  const trained = new Set(params.map((p) => p.name));
  const frozenReasons = selection.frozen;
  for (const n of selection.candidates) if (!trained.has(n)) frozenReasons.set(n, 'the outputs do not depend on it');
  frozenReasons.forEach((reason, n) => reason === 'batch-norm running statistic' && frozenReasons.delete(n));
  const frozen = [...frozenReasons.keys()];
  const warnings = fileWarnings(graph, selection.candidates, ties.length > 0);
  return { model, graph, params, buffers, frozen, frozenReasons, ties, warnings, inputs: graph.inputs, logits, outputs };
}
