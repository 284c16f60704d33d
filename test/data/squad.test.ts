// Question answering on SQuAD-shaped text: the answer's character offsets become token
// positions, a truncated answer points at the first token, and SQuAD's normalized exact match
// and F1 score answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { FIXTURES } from '../helpers';
import { loadTokenizer } from '../../src/trainer/text';
import { answerText, encodeSquadRecord, squadScores } from '../../src/trainer/data/squad';
import type { QaText } from '../../src/trainer/data/squad';

const tokenizer = loadTokenizer(path.join(FIXTURES, 'tokenizers', 'wordpiece', 'tokenizer.json'));
const context = 'The dog sat on the doggies mat near the river.';
const record = (answer: string, maxLength = 64) => encodeSquadRecord('q.jsonl', {
  line: 3, values: { question: 'Where did it sit?', context, answers: { text: [answer], answer_start: [context.indexOf(answer)] } },
}, tokenizer, maxLength);

test('the answer\'s characters become the positions of its first and last tokens, in the context', () => {
  const r = record('doggies mat');
  const ids = r.values.input_ids as number[];
  const [start, end] = [r.values.start_positions as number, r.values.end_positions as number];
  const wordIds = r.values.word_ids as (number | null)[];
  assert.ok(end - start >= 2, 'doggies is several word pieces');
  assert.deepEqual(tokenizer.decode(ids.slice(start, end + 1)), 'doggies mat');
  assert.equal(answerText(r.values.qa as QaText, wordIds, start, end), 'doggies mat');
  assert.equal((r.values.token_type_ids as number[])[start], 1);
});

test('an answer cut off by truncation points at the first token', () => {
  const r = record('river', 22);
  assert.deepEqual([r.values.start_positions, r.values.end_positions], [0, 0]);
});

test('an answer not found at its character offset is an error naming the line', () => {
  const bad = { line: 9, values: { question: 'q', context, answers: { text: ['cat'], answer_start: [4] } } };
  assert.throws(() => encodeSquadRecord('q.jsonl', bad, tokenizer, 64), /q\.jsonl:9: answer "cat" is not at character 4 of the context/);
});

test('SQuAD scores: normalized exact match, and token F1 against the best gold answer', () => {
  assert.deepEqual(squadScores('The Mat!', ['mat']), { exact: 1, f1: 1 });
  const s = squadScores('on the doggies mat', ['doggies mat near', 'river']);
  assert.equal(s.exact, 0);
  assert.ok(Math.abs(s.f1 - (2 * 2) / (3 + 3)) < 1e-12);
  assert.deepEqual(squadScores('river', ['lake']), { exact: 0, f1: 0 });
});
