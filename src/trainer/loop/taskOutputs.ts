// What each task keeps of a batch's logits for metrics and predictions: the predicted id per
// token (token classification, language models), or the best answer span (question answering,
// as Hugging Face's postprocess_qa_predictions picks it: start ≤ end, at most 30 tokens long,
// inside the attended tokens), plus the top-k fills of masked positions for fill-mask.

import { Tensor } from '../onnx/tensor';
import { IGNORE_INDEX, Task } from '../programs/tasks';

export type Batch = Map<string, Tensor>;

/** Longest answer in tokens (run_qa's max_answer_length). */
export const MAX_ANSWER_LENGTH = 30;

export interface MaskFill {
  position: number;
  /** Best first. */
  token_ids: number[];
  scores: number[];
}

export interface BatchRows {
  predictions: number[][];
  labels?: number[][];
  /** Fill-mask: the top-k fills of each row's masked positions. */
  fills?: MaskFill[][];
}

function rowsOf(t: Tensor | undefined): number[][] | undefined {
  if (!t) return undefined;
  const width = t.dims.length > 1 ? t.dims[1] : 1;
  return Array.from({ length: t.dims[0] }, (_, i) => Array.from(t.data.subarray(i * width, (i + 1) * width), Number));
}

function argmax(data: Float32Array, offset: number, size: number): number {
  let best = 0;
  for (let c = 1; c < size; c++) if (data[offset + c] > data[offset + best]) best = c;
  return best;
}

/**
 * A token-level batch's rows from an eval step that predicted the labelled positions alone
 * (evalStep.ts `labelled`): each labelled position's predicted class, 0 elsewhere (the metrics
 * read only positions whose label is not -100), and the labels.
 */
export function labelledRows(labelled: { at: Tensor; predicted: Tensor }, batch: Batch): { predictions: number[][]; labels: number[][] } {
  const labels = rowsOf(batch.get('labels'))!;
  const seq = labels[0]?.length ?? 0;
  const predictions = labels.map((row) => row.map(() => 0));
  const at = labelled.at.data as BigInt64Array;
  const predicted = labelled.predicted.data as BigInt64Array;
  for (let k = 0; k < at.length; k++) {
    const [i, j] = [Math.floor(Number(at[k]) / seq), Number(at[k]) % seq];
    // The step also predicts the batch's first position, labelled or not (lossHeads.ts).
    if (labels[i][j] !== IGNORE_INDEX) predictions[i][j] = Number(predicted[k]);
  }
  return { predictions, labels };
}

/** The per-row outputs of one batch of `task`; `maskTokenId` marks the positions fill-mask fills. */
export function batchRows(task: Exclude<Task, 'text-classification'>, logits: Tensor, batch: Batch, opts: { maskTokenId?: number; topK?: number; allowed?: (boolean[] | undefined)[] } = {}): BatchRows {
  const data = logits.data as Float32Array;
  const [n, seq, classes] = logits.dims;
  if (task === 'question-answering') {
    // With text, answers come from the context's tokens only (opts.allowed), as run_qa's postprocessing.
    const mask = rowsOf(batch.get('attention_mask'));
    const predictions = Array.from({ length: n }, (_, i) => bestSpan(data, i, seq, opts.allowed?.[i]?.map(Number) ?? mask?.[i]));
    const start = rowsOf(batch.get('start_positions'));
    const end = rowsOf(batch.get('end_positions'));
    return { predictions, labels: start && end ? start.map((s, i) => [s[0], end[i][0]]) : undefined };
  }
  const predictions = Array.from({ length: n }, (_, i) => Array.from({ length: seq }, (_, j) => argmax(data, (i * seq + j) * classes, classes)));
  const labels = rowsOf(batch.get('labels'));
  if (task !== 'fill-mask') return { predictions, labels };
  const ids = rowsOf(batch.get('input_ids'));
  const masked = (i: number, j: number) => (opts.maskTokenId !== undefined ? ids?.[i][j] === opts.maskTokenId : labels?.[i][j] !== IGNORE_INDEX && labels !== undefined);
  const fills = Array.from({ length: n }, (_, i) => {
    const out: MaskFill[] = [];
    for (let j = 0; j < seq; j++) if (masked(i, j)) out.push({ position: j, ...topK(data, (i * seq + j) * classes, classes, opts.topK ?? 5) });
    return out;
  });
  return { predictions, labels, fills };
}

/** The best [start, end] of row i of [n, seq, 2] logits by start + end logit. */
function bestSpan(data: Float32Array, i: number, seq: number, mask?: number[]): number[] {
  let best = [0, 0];
  let score = -Infinity;
  const at = (j: number, k: number) => data[(i * seq + j) * 2 + k];
  for (let s = 0; s < seq; s++) {
    if (mask && !mask[s]) continue;
    for (let e = s; e < Math.min(seq, s + MAX_ANSWER_LENGTH); e++) {
      if (mask && !mask[e]) continue;
      const v = at(s, 0) + at(e, 1);
      if (v > score) {
        score = v;
        best = [s, e];
      }
    }
  }
  return best;
}

/** The k most likely ids of one softmax row, with their probabilities. */
function topK(data: Float32Array, offset: number, size: number, k: number): { token_ids: number[]; scores: number[] } {
  let max = -Infinity;
  for (let c = 0; c < size; c++) max = Math.max(max, data[offset + c]);
  let sum = 0;
  for (let c = 0; c < size; c++) sum += Math.exp(data[offset + c] - max);
  const order = Array.from({ length: size }, (_, c) => c).sort((a, b) => data[offset + b] - data[offset + a]).slice(0, k);
  return { token_ids: order, scores: order.map((c) => Math.exp(data[offset + c] - max) / sum) };
}

/** Rows padded with -100 to one width, row-major, as Hugging Face concatenates padded batches. */
export function padRows(rows: readonly number[][]): { data: Float64Array; width: number } {
  const width = rows.reduce((w, r) => Math.max(w, r.length), 0);
  const data = new Float64Array(rows.length * width).fill(IGNORE_INDEX);
  rows.forEach((r, i) => data.set(r, i * width));
  return { data, width };
}
