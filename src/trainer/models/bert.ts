// The built-in BERT-style encoder for sequence classification, generated as an ONNX graph:
// word + position + token-type embeddings, LayerNorm, encoder layers (multi-head self-attention
// with the attention mask, GELU feed-forward, residuals and LayerNorms), a tanh pooler over the
// first token and a linear classifier. Parameter names and layouts are those of Hugging Face's
// BertForSequenceClassification state_dict; initialization is BERT's (normal, std 0.02).

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { DataType, Tensor, fromNumbers } from '../onnx/tensor';
import { Initializer, constant } from './init';
import { BUILTIN_OPSET } from './vision';

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
  const extended = b.mul(b.sub(b.scalar(1), maskF), b.scalar(-10000));
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

  const first = b.op('Gather', [x, b.scalar(0, DataType.INT64)], { axis: 1 });
  const pooled = drop(b.op('Tanh', [linear(first, 'bert.pooler.dense', H, H)]));
  const w = param('classifier.weight', init.normal([o.numLabels, H], STD));
  const bias = param('classifier.bias', constant([o.numLabels], 0));
  b.add('Gemm', [pooled, w, bias], { transB: 1 }, { outputs: [b.reserve('logits')] });
  g.outputs = [b.shapes.valueInfo('logits')];
  return g;
}
