// Truncation: 'longest_first' lengths exactly as the Rust tokenizers crate computes them (its own
// test table), the same as taking tokens off the longer side one at a time, and, through encode,
// the budget left after the special tokens and which tokens go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { FIXTURES } from '../helpers';
import { loadTokenizer, longestFirst } from '../../src/trainer/text';
import { UserError } from '../../src/trainer/errors';

const WORDPIECE = path.join(FIXTURES, 'tokenizers', 'wordpiece', 'tokenizer.json');

test('longest_first with max_length 7 matches tokenizers\' truncate_encodings_longest_first table', () => {
  // (first, second) lengths → kept lengths; from tokenizers/src/utils/truncation.rs.
  const table: [number, number, number, number][] = [
    [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
    [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
    [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
    [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
  ];
  for (const [n1, n2, k1, k2] of table) assert.deepEqual(longestFirst(n1, n2, 7), [k1, k2], `${n1}, ${n2}`);
  assert.deepEqual(longestFirst(5, 5, 0), [0, 0]);
  assert.deepEqual(longestFirst(9, undefined, 4), [4, 0]);
  assert.deepEqual(longestFirst(3, undefined, 4), [3, 0]);
});

test('the closed form equals removing one token at a time from the longer sequence', () => {
  // On a tie, the token goes from the sequence that was shorter to begin with (the first if the
  // two started equal) — the rule the closed form implies.
  const oneAtATime = (n1: number, n2: number, max: number): [number, number] => {
    let [a, b] = [n1, n2];
    while (a + b > max) {
      if (a > b || (a === b && n1 <= n2)) a--;
      else b--;
    }
    return [a, b];
  };
  for (let n1 = 0; n1 <= 12; n1++) {
    for (let n2 = 0; n2 <= 12; n2++) {
      for (let max = 0; max <= 15; max++) assert.deepEqual(longestFirst(n1, n2, max), oneAtATime(n1, n2, max), `${n1} ${n2} ${max}`);
    }
  }
});

test('a single text keeps its first max_length − 2 tokens between [CLS] and [SEP]', () => {
  const tok = loadTokenizer(WORDPIECE);
  const full = tok.encode('The cat sat on the mat.');
  assert.equal(full.input_ids.length, 9);
  const cut = tok.encode('The cat sat on the mat.', undefined, { maxLength: 5 });
  assert.deepEqual(cut.tokens, ['[CLS]', 'the', 'cat', 'sat', '[SEP]']);
  assert.deepEqual(cut.input_ids, [...full.input_ids.slice(0, 4), full.input_ids[8]]);
  assert.deepEqual(cut.attention_mask, [1, 1, 1, 1, 1]);
  // Long enough already: nothing changes.
  assert.deepEqual(tok.encode('The cat sat on the mat.', undefined, { maxLength: 9 }), full);
  assert.deepEqual(tok.encode('The cat sat on the mat.', undefined, { maxLength: 50 }), full);
  // Exactly the specials: an empty text between them.
  assert.deepEqual(tok.encode('The cat', undefined, { maxLength: 2 }).tokens, ['[CLS]', '[SEP]']);
});

test('a pair: 3 specials, then tokens come off the end of the longer text first', () => {
  const tok = loadTokenizer(WORDPIECE);
  const a = 'the cat sat on the mat'; // 6 tokens
  const b = 'a dog'; // 2 tokens
  // Budget 10 − 3 = 7: only the first text is cut, to 5.
  const enc = tok.encode(a, b, { maxLength: 10 });
  assert.deepEqual(enc.tokens, ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', '[SEP]', 'a', 'dog', '[SEP]']);
  assert.deepEqual(enc.token_type_ids, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  // Budget 3: both cut, 1 for the shorter text, 2 for the longer.
  assert.deepEqual(tok.encode(a, b, { maxLength: 6 }).tokens, ['[CLS]', 'the', 'cat', '[SEP]', 'a', '[SEP]']);
  assert.deepEqual(tok.encode(b, a, { maxLength: 6 }).tokens, ['[CLS]', 'a', '[SEP]', 'the', 'cat', '[SEP]']);
  // Equal lengths, odd budget: the second keeps the extra token.
  assert.deepEqual(tok.encode('the cat sat', 'a dog sat', { maxLength: 8 }).tokens, ['[CLS]', 'the', 'cat', '[SEP]', 'a', 'dog', 'sat', '[SEP]']);
  for (const max of [3, 4, 5, 7, 9, 11, 12]) assert.equal(tok.encode(a, b, { maxLength: max }).input_ids.length, Math.min(max, 11), `max ${max}`);
});

test('without special tokens the whole max_length goes to text', () => {
  const tok = loadTokenizer(WORDPIECE);
  const enc = tok.encode('the cat sat on the mat', 'a dog', { maxLength: 4, addSpecialTokens: false });
  assert.deepEqual(enc.tokens, ['the', 'cat', 'a', 'dog']);
  assert.deepEqual(enc.token_type_ids, [0, 0, 1, 1]);
});

test('a max_length smaller than the special tokens is a UserError naming the file', () => {
  const tok = loadTokenizer(WORDPIECE);
  assert.throws(
    () => tok.encode('the cat', 'a dog', { maxLength: 2 }),
    (e: Error) => e instanceof UserError && e.message.includes(WORDPIECE) && /max_length 2.*3 special tokens/.test(e.message),
  );
  assert.doesNotThrow(() => tok.encode('the cat', 'a dog', { maxLength: 3 }));
});
