// Text data of the token-level tasks: words and tags aligned to sub-word tokens as run_ner does,
// prompt + completion with the prompt ignored, packing into max_length blocks, and the
// fill-mask collator's seeded masking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { FIXTURES } from '../helpers';
import { loadTokenizer } from '../../src/trainer/text';
import { encodeTaskRecord, packedSource } from '../../src/trainer/data/taskText';
import { MemorySource } from '../../src/trainer/data/source';
import { maskExample } from '../../src/trainer/data/maskedLm';
import { Example } from '../../src/trainer/data/dataset';
import { DataError } from '../../src/trainer/errors';

const tokenizer = loadTokenizer(path.join(FIXTURES, 'tokenizers', 'wordpiece', 'tokenizer.json'));

test('a word tag goes on the word\'s first sub-token; later sub-tokens and special tokens get -100', () => {
  const words = ['The', 'doggies', 'sat'];
  const r = encodeTaskRecord('d.jsonl', { line: 1, values: { tokens: words, ner_tags: ['O', 'B-ANIMAL', 'O'] } }, 'token-classification', ['tokens'], tokenizer, 64);
  const pieces = tokenizer.encodeWords(words);
  assert.ok(pieces.word_ids.filter((w) => w === 1).length > 1, 'the test needs a word of several sub-tokens');
  const expected = pieces.word_ids.map((w, i) => (w === null || pieces.word_ids[i - 1] === w ? -100 : ['O', 'B-ANIMAL', 'O'][w]));
  assert.deepEqual(r.values.labels, expected);
  assert.deepEqual(r.values.input_ids, pieces.input_ids);
});

test('tags must be one per word', () => {
  const record = { line: 7, values: { tokens: ['a', 'b'], ner_tags: ['O'] } };
  assert.throws(() => encodeTaskRecord('d.jsonl', record, 'token-classification', ['tokens'], tokenizer, 64), (e: Error) => e instanceof DataError && /^d.jsonl:7: column "ner_tags" must hold one tag per word \(2 words\)$/.test(e.message));
});

test('prompt + completion: the prompt\'s tokens are ignored in the loss, the completion\'s are the labels', () => {
  const r = encodeTaskRecord('d.jsonl', { line: 1, values: { prompt: 'the dog', completion: 'sat down' } }, 'text-generation', ['prompt', 'completion'], tokenizer, 64);
  const prompt = tokenizer.encode('the dog', undefined, { addSpecialTokens: false }).input_ids;
  const completion = tokenizer.encode('sat down', undefined, { addSpecialTokens: false }).input_ids;
  assert.deepEqual(r.values.input_ids, [...prompt, ...completion]);
  assert.deepEqual(r.values.labels, [...prompt.map(() => -100), ...completion]);
});

test('packing concatenates the texts and cuts max_length blocks, dropping the remainder', () => {
  const texts = ['the dog sat', 'a cat ran away', 'the end'];
  const source = new MemorySource('d.jsonl', texts.map((text, i) => ({ line: i + 1, values: { text } })));
  const encode = (r: { line: number; values: Record<string, unknown> }) => encodeTaskRecord('d.jsonl', r, 'text-generation', ['text'], tokenizer, 64);
  const all = texts.flatMap((text) => tokenizer.encode(text).input_ids);
  const packed = packedSource(source, encode, 4);
  assert.equal(packed.count, Math.floor(all.length / 4));
  packed.records.forEach((b, k) => {
    assert.deepEqual(b.values.input_ids, all.slice(4 * k, 4 * k + 4));
    assert.deepEqual(b.values.labels, b.values.input_ids);
  });
});

function example(line: number, ids: number[]): Example {
  return { line, features: new Map([['input_ids', { dims: [ids.length], data: BigInt64Array.from(ids, BigInt) }]]) };
}

const MASKING = { probability: 0.15, maskTokenId: 4, vocabSize: 1000, specialIds: new Set([0, 2, 3, 4]), seed: 42 };

test('masking chooses about mlm_probability of the tokens, never special ones, and labels only those', () => {
  const ids = [2, ...Array.from({ length: 4000 }, (_, i) => 10 + (i % 900)), 3];
  const masked = maskExample(example(1, ids), MASKING, 0);
  const labels = masked.label as number[];
  const out = Array.from(masked.features.get('input_ids')!.data, Number);
  const chosen = labels.flatMap((l, j) => (l === -100 ? [] : [j]));
  assert.ok(Math.abs(chosen.length / ids.length - 0.15) < 0.02, `chose ${chosen.length} of ${ids.length}`);
  assert.equal(labels[0], -100);
  assert.equal(labels.at(-1), -100);
  chosen.forEach((j) => assert.equal(labels[j], ids[j]));
  const replaced = chosen.filter((j) => out[j] === 4).length / chosen.length;
  const kept = chosen.filter((j) => out[j] === ids[j]).length / chosen.length;
  assert.ok(Math.abs(replaced - 0.8) < 0.05, `[MASK] share ${replaced}`);
  assert.ok(kept > 0.05 && kept < 0.16, `kept share ${kept}`);
  labels.forEach((l, j) => l === -100 && assert.equal(out[j], ids[j]));
});

test('masking replays for the same seed, pass and record, and changes from one epoch to the next', () => {
  const ids = Array.from({ length: 200 }, (_, i) => 10 + i);
  const a = maskExample(example(5, ids), MASKING, 3).label;
  assert.deepEqual(maskExample(example(5, ids), MASKING, 3).label, a);
  assert.notDeepEqual(maskExample(example(5, ids), MASKING, 4).label, a);
});
