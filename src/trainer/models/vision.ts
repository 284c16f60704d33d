// Built-in MLP and CNN classifiers (the CNN: conv + batch-norm + ReLU + max-pool blocks, then a
// linear head over the flattened map), generated as ONNX graphs with seeded PyTorch-style
// initialization. Parameter names follow what torch.nn modules of the same layout would export.

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { DataType, fromNumbers } from '../onnx/tensor';
import { Initializer, constant } from './init';

export interface MlpOptions {
  inputName: string;
  /** Shape of one sample, e.g. [784] or [1, 28, 28] (flattened first). */
  sampleShape: number[];
  hiddenSizes: number[];
  activation: 'relu' | 'gelu' | 'tanh';
  dropout: number;
  numLabels: number;
  seed: number;
}

export interface CnnOptions {
  inputName: string;
  /** [channels, height, width] of one sample. */
  sampleShape: number[];
  channels: number[];
  dropout: number;
  numLabels: number;
  seed: number;
}

export const BUILTIN_OPSET = 20;

function newGraph(name: string, inputName: string, sampleShape: number[]): { g: Graph; b: GraphBuilder } {
  const g = new Graph();
  g.name = name;
  g.opset = BUILTIN_OPSET;
  g.inputs.push({ name: inputName, type: DataType.FLOAT, shape: ['batch', ...sampleShape] });
  return { g, b: new GraphBuilder(g) };
}

function param(g: Graph, b: GraphBuilder, name: string, t: ReturnType<typeof constant>): string {
  g.initializers.set(b.reserve(name), t);
  b.shapes.set(name, { type: t.type, shape: [...t.dims] });
  return name;
}

function dropout(b: GraphBuilder, x: string, ratio: number): string {
  if (ratio <= 0) return x;
  // Exported in training mode: Trainer masks it in train steps and drops it for inference.
  const r = b.constant(fromNumbers(DataType.FLOAT, [], [ratio]), 'dropout_ratio');
  const on = b.constant({ type: DataType.BOOL, dims: [], data: Uint8Array.of(1) }, 'training_mode');
  return b.op('Dropout', [x, r, on]);
}

function activation(b: GraphBuilder, x: string, kind: MlpOptions['activation']): string {
  if (kind === 'gelu') return b.op('Gelu', [x]);
  if (kind === 'tanh') return b.op('Tanh', [x]);
  return b.op('Relu', [x]);
}

/** Finishes a classifier graph: a Linear head named "classifier" writing `logits`. */
function classifier(g: Graph, b: GraphBuilder, init: Initializer, x: string, width: number, numLabels: number): Graph {
  const { weight, bias } = init.linear(numLabels, width);
  const w = param(g, b, 'classifier.weight', weight);
  const bi = param(g, b, 'classifier.bias', bias);
  b.add('Gemm', [x, w, bi], { transB: 1 }, { outputs: [b.reserve('logits')] });
  g.outputs = [b.shapes.valueInfo('logits')];
  return g;
}

export function buildMlp(o: MlpOptions): Graph {
  const { g, b } = newGraph('mlp', o.inputName, o.sampleShape);
  const init = new Initializer(o.seed);
  let x = o.sampleShape.length === 1 ? o.inputName : b.op('Flatten', [o.inputName], { axis: 1 });
  let width = o.sampleShape.reduce((a, d) => a * d, 1);
  o.hiddenSizes.forEach((h, i) => {
    const { weight, bias } = init.linear(h, width);
    const w = param(g, b, `fc${i + 1}.weight`, weight);
    const bi = param(g, b, `fc${i + 1}.bias`, bias);
    x = dropout(b, activation(b, b.op('Gemm', [x, w, bi], { transB: 1 }), o.activation), o.dropout);
    width = h;
  });
  return classifier(g, b, init, x, width, o.numLabels);
}

export function buildCnn(o: CnnOptions): Graph {
  if (o.sampleShape.length !== 3) throw new Error(`the built-in cnn needs samples of shape [channels, height, width], got [${o.sampleShape}]`);
  const { g, b } = newGraph('cnn', o.inputName, o.sampleShape);
  const init = new Initializer(o.seed);
  let x = o.inputName;
  let channels = o.sampleShape[0];
  o.channels.forEach((c, i) => {
    const k = 3;
    const { weight, bias } = init.linear(c, channels * k * k, [c, channels, k, k]);
    const w = param(g, b, `conv${i + 1}.weight`, weight);
    const bi = param(g, b, `conv${i + 1}.bias`, bias);
    const conv = b.op('Conv', [x, w, bi], { kernel_shape: [k, k], pads: [1, 1, 1, 1] });
    const bn = ['weight', 'bias', 'running_mean', 'running_var'].map((s) =>
      param(g, b, `bn${i + 1}.${s}`, constant([c], s === 'weight' || s === 'running_var' ? 1 : 0)));
    const norm = b.add('BatchNormalization', [conv, ...bn], { epsilon: 1e-5, momentum: 0.9 }, { floats: ['epsilon', 'momentum'] })[0];
    x = b.op('MaxPool', [b.op('Relu', [norm])], { kernel_shape: [2, 2], strides: [2, 2] });
    channels = c;
  });
  // The head sees every position (flatten), which beats a global average on small images.
  let size = o.sampleShape.slice(1);
  for (let i = 0; i < o.channels.length; i++) size = size.map((d) => Math.floor(d / 2));
  if (size.some((d) => d < 1)) throw new Error(`images of [${o.sampleShape}] are too small for ${o.channels.length} pooling blocks`);
  x = b.op('Flatten', [x], { axis: 1 });
  return classifier(g, b, init, dropout(b, x, o.dropout), channels * size[0] * size[1], o.numLabels);
}
