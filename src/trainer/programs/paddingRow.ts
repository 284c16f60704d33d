// Hugging Face's models build their token embeddings as nn.Embedding(vocab, hidden,
// padding_idx=pad_token_id): the padding token's row never receives a gradient. It matters
// where padded positions reach the loss (question answering's softmax runs over every
// position); the ONNX file does not record padding_idx, so the pad id comes from the data.

import { Graph } from '../onnx/graph';
import { Dataset } from '../data/dataset';

/** The embedding table the graph input `input_ids` indexes directly, if any. */
export function inputEmbeddingTable(graph: Graph, params: ReadonlySet<string>): string | undefined {
  const node = graph.nodes.find((n) => n.op === 'Gather' && n.inputs[1] === 'input_ids' && params.has(n.inputs[0]));
  return node?.inputs[0];
}

/**
 * The padding token id: the tokenizer's when text is tokenized, else the one id found wherever
 * attention_mask is 0 in the first examples (undefined when the data has no padding).
 */
export function paddingTokenId(data: Dataset, tokenizerPad?: number, scan = 1000): number | undefined {
  if (tokenizerPad !== undefined) return tokenizerPad;
  const ids = new Set<number>();
  for (let i = 0; i < Math.min(data.size, scan); i++) {
    const f = data.example(i).features;
    const tokens = f.get('input_ids')?.data;
    const mask = f.get('attention_mask')?.data;
    if (!tokens || !mask) return undefined;
    for (let j = 0; j < mask.length; j++) if (Number(mask[j]) === 0) ids.add(Number(tokens[j]));
  }
  return ids.size === 1 ? [...ids][0] : undefined;
}
