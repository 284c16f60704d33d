// Padding as DataCollatorWithPadding does it: right side, pad id / 0 / 0 / 1 for ids, attention
// mask, token types and the special tokens mask; longest or max_length; pad_to_multiple_of.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { FIXTURES } from '../helpers';
import { batchTensors, loadTokenizer, padBatch, paddedLength } from '../../src/trainer/text';
import { UserError } from '../../src/trainer/errors';
import { DataType } from '../../src/trainer/onnx/tensor';

const rows = [
  { input_ids: [2, 10, 11, 3], attention_mask: [1, 1, 1, 1], token_type_ids: [0, 0, 0, 0] },
  { input_ids: [2, 12, 3, 13, 3], attention_mask: [1, 1, 1, 1, 1], token_type_ids: [0, 0, 0, 1, 1] },
  { input_ids: [2, 3], attention_mask: [1, 1], token_type_ids: [0, 0] },
];

test('longest: every row right-padded to the longest, with the pad id, mask 0 and type 0', () => {
  const batch = padBatch(rows, { strategy: 'longest', padId: 7 });
  assert.equal(batch.length, 5);
  assert.deepEqual(batch.input_ids, [
    [2, 10, 11, 3, 7],
    [2, 12, 3, 13, 3],
    [2, 3, 7, 7, 7],
  ]);
  assert.deepEqual(batch.attention_mask, [
    [1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1],
    [1, 1, 0, 0, 0],
  ]);
  assert.deepEqual(batch.token_type_ids, [
    [0, 0, 0, 0, 0],
    [0, 0, 0, 1, 1],
    [0, 0, 0, 0, 0],
  ]);
  assert.equal(batch.special_tokens_mask, undefined);
  // The input rows are left as they were.
  assert.deepEqual(rows[2].input_ids, [2, 3]);
});

test('max_length pads to it; pad_to_multiple_of rounds either target up', () => {
  assert.equal(padBatch(rows, { strategy: 'max_length', maxLength: 8, padId: 0 }).input_ids[0].length, 8);
  assert.equal(padBatch(rows, { strategy: 'longest', padToMultipleOf: 4, padId: 0 }).length, 8);
  assert.equal(padBatch(rows, { strategy: 'max_length', maxLength: 9, padToMultipleOf: 8, padId: 0 }).length, 16);
  assert.equal(paddedLength([8], { strategy: 'longest', padToMultipleOf: 8, padId: 0 }), 8);
  assert.equal(paddedLength([], { strategy: 'longest', padId: 0 }), 0);
});

test('a row longer than max_length, or max_length missing, is a UserError', () => {
  assert.throws(() => padBatch(rows, { strategy: 'max_length', maxLength: 4, padId: 0 }), (e: Error) => e instanceof UserError && /example 2 has 5 tokens/.test(e.message));
  assert.throws(() => padBatch(rows, { strategy: 'max_length', padId: 0 }), UserError);
});

test('a missing attention mask is all ones; token types only when every row has them', () => {
  const batch = padBatch([{ input_ids: [5, 6, 7] }, { input_ids: [5], token_type_ids: [0] }], { strategy: 'longest', padId: 0 });
  assert.deepEqual(batch.attention_mask, [
    [1, 1, 1],
    [1, 0, 0],
  ]);
  assert.equal(batch.token_type_ids, undefined);
});

test('encodings from a tokenizer pad with its pad id; the special tokens mask pads with 1', () => {
  const tok = loadTokenizer(path.join(FIXTURES, 'tokenizers', 'bpe'));
  const batch = padBatch([tok.encode('hello world'), tok.encode('low')], { strategy: 'longest', padId: tok.padTokenId, padToMultipleOf: 2 });
  assert.deepEqual(batch.input_ids, [
    [0, 17, 22, 2],
    [0, 23, 2, 1],
  ]);
  assert.deepEqual(batch.special_tokens_mask, [
    [1, 0, 0, 1],
    [1, 0, 1, 1],
  ]);
});

test('batchTensors: int64 [batch, length] tensors for input_ids, attention_mask, token_type_ids', () => {
  const tensors = batchTensors(padBatch(rows, { strategy: 'longest', padId: 0 }));
  assert.deepEqual([...tensors.keys()], ['input_ids', 'attention_mask', 'token_type_ids']);
  const ids = tensors.get('input_ids')!;
  assert.equal(ids.type, DataType.INT64);
  assert.deepEqual(ids.dims, [3, 5]);
  assert.deepEqual([...ids.data], [2n, 10n, 11n, 3n, 0n, 2n, 12n, 3n, 13n, 3n, 2n, 3n, 0n, 0n, 0n]);
  assert.deepEqual([...tensors.get('attention_mask')!.data].map(Number), [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
});
