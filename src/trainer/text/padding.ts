// Pads a batch of encodings the way Hugging Face's DataCollatorWithPadding does (it calls
// tokenizer.pad): right padding, input_ids with the pad token id, attention_mask with 0,
// token_type_ids with the pad type id (0), special_tokens_mask with 1; the target length is the
// longest sequence or max_length, rounded up to a multiple of pad_to_multiple_of.

import { UserError } from '../errors';
import { DataType, Tensor } from '../onnx/tensor';

export interface PadOptions {
  /** 'longest' (padding=True) or 'max_length' (padding="max_length"). */
  strategy: 'longest' | 'max_length';
  /** Required by 'max_length'. */
  maxLength?: number;
  padToMultipleOf?: number;
  padId: number;
  /** Type id of padding positions; Hugging Face's default is 0. */
  padTypeId?: number;
}

/** What padBatch needs of an encoding; the other columns are padded when every row has them. */
export interface PaddableEncoding {
  input_ids: readonly number[];
  attention_mask?: readonly number[];
  token_type_ids?: readonly number[];
  special_tokens_mask?: readonly number[];
}

export interface PaddedBatch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  special_tokens_mask?: number[][];
  /** The padded length of every row. */
  length: number;
}

/** The length rows are padded to. */
export function paddedLength(lengths: readonly number[], options: PadOptions): number {
  let target: number;
  if (options.strategy === 'max_length') {
    if (options.maxLength === undefined) throw new UserError('padding "max_length" needs max_length');
    target = options.maxLength;
  } else {
    target = lengths.reduce((m, n) => Math.max(m, n), 0);
  }
  const multiple = options.padToMultipleOf;
  if (multiple !== undefined && multiple > 0 && target % multiple !== 0) target = (Math.floor(target / multiple) + 1) * multiple;
  return target;
}

function padRow(row: readonly number[], length: number, value: number): number[] {
  const out = row.slice();
  while (out.length < length) out.push(value);
  return out;
}

/** Pads every encoding to one length (see the file comment). */
export function padBatch(encodings: readonly PaddableEncoding[], options: PadOptions): PaddedBatch {
  const length = paddedLength(
    encodings.map((e) => e.input_ids.length),
    options,
  );
  encodings.forEach((e, i) => {
    // Hugging Face leaves such a row longer than the rest, and making a tensor then fails.
    if (e.input_ids.length > length) {
      throw new UserError(`example ${i + 1} has ${e.input_ids.length} tokens, more than max_length ${length}; enable truncation or raise max_length`);
    }
  });
  const all = (key: keyof PaddableEncoding) => encodings.length > 0 && encodings.every((e) => e[key] !== undefined);
  const batch: PaddedBatch = {
    input_ids: encodings.map((e) => padRow(e.input_ids, length, options.padId)),
    attention_mask: encodings.map((e) => padRow(e.attention_mask ?? e.input_ids.map(() => 1), length, 0)),
    length,
  };
  if (all('token_type_ids')) batch.token_type_ids = encodings.map((e) => padRow(e.token_type_ids!, length, options.padTypeId ?? 0));
  if (all('special_tokens_mask')) batch.special_tokens_mask = encodings.map((e) => padRow(e.special_tokens_mask!, length, 1));
  return batch;
}

/** The batch's model inputs as int64 tensors [batch, length] (special_tokens_mask is not one). */
export function batchTensors(batch: PaddedBatch): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const put = (name: string, rows: number[][] | undefined) => {
    if (!rows) return;
    const data = new BigInt64Array(rows.length * batch.length);
    rows.forEach((row, i) => row.forEach((v, j) => (data[i * batch.length + j] = BigInt(v))));
    out.set(name, { type: DataType.INT64, dims: [rows.length, batch.length], data });
  };
  put('input_ids', batch.input_ids);
  put('attention_mask', batch.attention_mask);
  put('token_type_ids', batch.token_type_ids);
  return out;
}
