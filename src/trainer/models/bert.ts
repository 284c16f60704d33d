// The built-in BERT-style encoder, generated as an ONNX graph: word + position + token-type
// embeddings, LayerNorm, encoder layers (multi-head self-attention with the attention mask, GELU
// feed-forward, residuals and LayerNorms), and the head of the task: a tanh pooler over the first
// token and a linear classifier (sequence classification), a classifier per token, a span head
// (qa_outputs), or the masked-LM head; for text generation the attention is causal (BERT as a
// decoder, BertLMHeadModel). Parameter names and layouts are those of Hugging Face's Bert*
// state_dicts (the LM decoder untied from the embeddings); initialization is BERT's (normal, std 0.02).

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { DataType, Tensor, fromNumbers } from '../onnx/tensor';
import { Initializer, constant } from './init';
import { BUILTIN_OPSET } from './vision';
import type { Task } from '../programs/tasks';

export interface BertOptions {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  dropout: number;
  numLabels: number;
  padTokenId: number;
  seed: number;
  /** The head; default text-classification. */
  task?: Task;
}

const STD = 0.02;

export function buildBert(o: BertOptions): Graph {
  if (o.hiddenSize % o.numHeads !== 0) throw new Error(`hidden_size ${o.hiddenSize} is not a multiple of num_attention_heads ${o.numHeads}`);
  const g = new Graph();
  g.name = 'bert';
  g.opset = BUILTIN_OPSET;
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) g.inputs.push({ name, type: DataType.INT64, shape: ['batch', 'sequence'] });
  const b = new GraphBuilder(g);
  const init = new Initializer(o.seed);
  const param = (name: string, t: Tensor) => {
    g.initializers.set(b.reserve(name), t);
    b.shapes.set(name, { type: t.type, shape: [...t.dims] });
    return name;
  };
  const H = o.hiddenSize;
  const d = H / o.numHeads;
  const drop = (x: string) => {
    if (o.dropout <= 0) return x;
    const on = b.constant({ type: DataType.BOOL, dims: [], data: Uint8Array.of(1) }, 'training_mode');
    return b.op('Dropout', [x, b.constant(fromNumbers(DataType.FLOAT, [], [o.dropout]), 'dropout_ratio'), on]);
  };
  const layerNorm = (x: string, prefix: string) =>
    b.add('LayerNormalization', [x, param(`${prefix}.weight`, constant([H], 1)), param(`${prefix}.bias`, constant([H], 0))], { axis: -1, epsilon: 1e-12 }, { floats: ['epsilon'] })[0];
  // nn.Linear: weight [out, in]; onnxruntime fuses the Transpose into its MatMul.
  const linear = (x: string, prefix: string, inF: number, outF: number) => {
    const w = param(`${prefix}.weight`, init.normal([outF, inF], STD));
    const bias = param(`${prefix}.bias`, constant([outF], 0));
    return b.add2(b.op('MatMul', [x, b.transpose(w, [1, 0])]), bias);
  };

  const words = init.normal([o.vocabSize, H], STD);
  (words.data as Float32Array).fill(0, o.padTokenId * H, (o.padTokenId + 1) * H);
  const wordEmb = b.op('Gather', [param('bert.embeddings.word_embeddings.weight', words), 'input_ids'], { axis: 0 });
  const seqLen = b.op('Gather', [b.shapeOf('input_ids'), b.scalar(1, DataType.INT64)], { axis: 0 });
  const positions = b.op('Range', [b.scalar(0, DataType.INT64), seqLen, b.scalar(1, DataType.INT64)]);
  const posEmb = b.op('Gather', [param('bert.embeddings.position_embeddings.weight', init.normal([o.maxPositions, H], STD)), positions], { axis: 0 });
  const typeEmb = b.op('Gather', [param('bert.embeddings.token_type_embeddings.weight', init.normal([2, H], STD)), 'token_type_ids'], { axis: 0 });
  let x = drop(layerNorm(b.add2(b.add2(wordEmb, posEmb), typeEmb), 'bert.embeddings.LayerNorm'));

  // (1 − mask) · −10000 added to the scores: padded positions get no attention.
  const maskF = b.unsqueeze(b.cast('attention_mask', DataType.FLOAT), [1, 2]);
  let extended = b.mul(b.sub(b.scalar(1), maskF), b.scalar(-10000));
  if (o.task === 'text-generation') {
    // A decoder also hides later positions: −10000 where the key comes after the query.
    const later = b.op('Greater', [b.unsqueeze(positions, [0]), b.unsqueeze(positions, [1])]);
    extended = b.add2(extended, b.mul(b.cast(later, DataType.FLOAT), b.scalar(-10000)));
  }
  const heads = (t: string) => b.transpose(b.reshape(t, [0, 0, o.numHeads, d]), [0, 2, 1, 3]);

  for (let l = 0; l < o.numLayers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const q = heads(linear(x, `${p}.attention.self.query`, H, H));
    const k = heads(linear(x, `${p}.attention.self.key`, H, H));
    const v = heads(linear(x, `${p}.attention.self.value`, H, H));
    const scores = b.add2(b.mul(b.op('MatMul', [q, b.transpose(k, [0, 1, 3, 2])]), b.scalar(1 / Math.sqrt(d))), extended);
    const probs = drop(b.op('Softmax', [scores], { axis: -1 }));
    const context = b.reshape(b.transpose(b.op('MatMul', [probs, v]), [0, 2, 1, 3]), [0, 0, H]);
    const attended = layerNorm(b.add2(drop(linear(context, `${p}.attention.output.dense`, H, H)), x), `${p}.attention.output.LayerNorm`);
    const inner = b.op('Gelu', [linear(attended, `${p}.intermediate.dense`, H, o.intermediateSize)]);
    x = layerNorm(b.add2(drop(linear(inner, `${p}.output.dense`, o.intermediateSize, H)), attended), `${p}.output.LayerNorm`);
  }

  addHead(b, x, o, { param, linear, layerNorm, drop, init });
  return g;
}

interface HeadTools {
  param: (name: string, t: Tensor) => string;
  linear: (x: string, prefix: string, inF: number, outF: number) => string;
  layerNorm: (x: string, prefix: string) => string;
  drop: (x: string) => string;
  init: Initializer;
}

/** The task's head on the encoder output `x` [batch, sequence, hidden]; sets the graph outputs. */
function addHead(b: GraphBuilder, x: string, o: BertOptions, t: HeadTools): void {
  const H = o.hiddenSize;
  const out = (value: string, name: string) => {
    b.add('Identity', [value], {}, { outputs: [b.reserve(name)] });
    return b.shapes.valueInfo(name);
  };
  switch (o.task ?? 'text-classification') {
    case 'text-classification': {
      const first = b.op('Gather', [x, b.scalar(0, DataType.INT64)], { axis: 1 });
      const pooled = t.drop(b.op('Tanh', [t.linear(first, 'bert.pooler.dense', H, H)]));
      const w = t.param('classifier.weight', t.init.normal([o.numLabels, H], STD));
      const bias = t.param('classifier.bias', constant([o.numLabels], 0));
      b.add('Gemm', [pooled, w, bias], { transB: 1 }, { outputs: [b.reserve('logits')] });
      b.graph.outputs = [b.shapes.valueInfo('logits')];
      return;
    }
    case 'token-classification':
      b.graph.outputs = [out(t.linear(t.drop(x), 'classifier', H, o.numLabels), 'logits')];
      return;
    case 'question-answering': {
      const [start, end] = b.add('Split', [t.linear(x, 'qa_outputs', H, 2), b.int64s([1, 1])], { axis: -1 }, { outputs: 2 });
      b.graph.outputs = [out(b.squeeze(start, [-1]), 'start_logits'), out(b.squeeze(end, [-1]), 'end_logits')];
      return;
    }
    case 'fill-mask':
    case 'text-generation': {
      const transformed = t.layerNorm(b.op('Gelu', [t.linear(x, 'cls.predictions.transform.dense', H, H)]), 'cls.predictions.transform.LayerNorm');
      b.graph.outputs = [out(t.linear(transformed, 'cls.predictions.decoder', H, o.vocabSize), 'logits')];
    }
  }
}
