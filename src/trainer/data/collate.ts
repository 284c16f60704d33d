// Stacks examples into a batch: every feature along a new first axis, labels as int64 class ids
// or float32 vectors, as Hugging Face's default collator does; per-token labels padded with -100
// to the batch's token length, and question answering's start and end positions.

import { DataType, Tensor, allocate } from '../onnx/tensor';
import { ValueInfo } from '../onnx/graph';
import { IGNORE_INDEX } from '../programs/tasks';
import { Example, LabelSpec, PaddingSpec, ProblemType } from './dataset';

export type Batch = Map<string, Tensor>;

/** Pads one input's rows (1-D each) to a common length, as DataCollatorWithPadding does. */
function padded(examples: readonly Example[], input: ValueInfo, padding: PaddingSpec, value: number): Tensor {
  const rows = examples.map((e) => e.features.get(input.name)!.data);
  const length = padding.strategy === 'max_length' ? padding.maxLength : Math.max(...rows.map((r) => r.length));
  const data = allocate(input.type, rows.length * length);
  const big = data instanceof BigInt64Array;
  rows.forEach((row, i) => {
    for (let j = 0; j < length; j++) {
      const v = j < row.length ? row[j] : big ? BigInt(value) : value;
      (data as BigInt64Array)[i * length + j] = v as bigint;
    }
  });
  return { type: input.type, dims: [rows.length, length], data };
}

/** The batch of `examples`: inputs stacked (or padded), and the targets when `targets` is given and they have them. */
export function collate(examples: readonly Example[], inputs: readonly ValueInfo[], targets: LabelSpec | undefined, padding?: PaddingSpec): Batch {
  const batch: Batch = new Map();
  for (const input of inputs) {
    const pad = padding?.values.get(input.name);
    if (padding && pad !== undefined) {
      batch.set(input.name, padded(examples, input, padding, pad));
      continue;
    }
    const first = examples[0].features.get(input.name)!;
    const per = first.data.length;
    const data = allocate(input.type, per * examples.length);
    examples.forEach((e, i) => (data as Float32Array).set(e.features.get(input.name)!.data as Float32Array, i * per));
    batch.set(input.name, { type: input.type, dims: [examples.length, ...first.dims], data });
  }
  if (!targets || examples[0].label === undefined) return batch;
  const task = targets.task ?? 'text-classification';
  if (task === 'question-answering') {
    ['start_positions', 'end_positions'].forEach((name, k) => batch.set(name, int64Of([examples.length], examples.map((e) => (e.label as number[])[k]))));
  } else if (task === 'text-classification') {
    batch.set('labels', collateLabels(examples, targets.problemType, targets.numLabels));
  } else {
    batch.set('labels', tokenLabels(examples, batch.get('input_ids')?.dims[1]));
  }
  return batch;
}

function int64Of(dims: number[], values: number[]): Tensor {
  return { type: DataType.INT64, dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

/** Per-token labels, padded with -100 to the batch's token length (DataCollatorForTokenClassification). */
function tokenLabels(examples: readonly Example[], length?: number): Tensor {
  const rows = examples.map((e) => e.label as number[]);
  const width = length ?? Math.max(...rows.map((r) => r.length));
  const values = rows.flatMap((r) => Array.from({ length: width }, (_, j) => (j < r.length ? r[j] : IGNORE_INDEX)));
  return int64Of([rows.length, width], values);
}

function collateLabels(examples: readonly Example[], problem: ProblemType, numLabels: number): Tensor {
  const n = examples.length;
  if (problem === 'single_label_classification') {
    return { type: DataType.INT64, dims: [n], data: BigInt64Array.from(examples, (e) => BigInt(e.label as number)) };
  }
  const width = problem === 'regression' && numLabels === 1 ? 1 : numLabels;
  const data = new Float32Array(n * width);
  examples.forEach((e, i) => {
    if (Array.isArray(e.label)) data.set(e.label, i * width);
    else data[i] = e.label as number;
  });
  return { type: DataType.FLOAT, dims: width === 1 && problem === 'regression' ? [n] : [n, width], data };
}

/** Indices of each micro-batch of an epoch, in the given order. */
export function microBatches(order: readonly number[], batchSize: number, dropLast: boolean): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const chunk = order.slice(i, i + batchSize);
    if (chunk.length < batchSize && dropLast) break;
    out.push(chunk);
  }
  return out;
}
