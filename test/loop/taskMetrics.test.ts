// The task metrics: seqeval's entity scores (its README's example), SQuAD's exact match and F1
// over spans, perplexity as exp(eval_loss), masked-token accuracy, and the next-token choice of
// generation (greedy, top-k, top-p).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entitiesOf, seqevalScores } from '../../src/trainer/loop/seqeval';
import { taskMetrics } from '../../src/trainer/loop/taskMetrics';
import { nextToken } from '../../src/trainer/loop/generation';
import { keyOf } from '../../src/trainer/programs/random';

test('seqeval: entity precision, recall and F1 as in seqeval\'s README example', () => {
  const gold = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const s = seqevalScores(pred, gold);
  assert.equal(s.precision, 0.5);
  assert.equal(s.recall, 0.5);
  assert.equal(s.f1, 0.5);
  assert.equal(s.accuracy, 8 / 10);
});

test('seqeval: an I- tag that does not continue an entity of its type starts one', () => {
  assert.deepEqual(entitiesOf(['I-PER', 'I-PER', 'I-LOC', 'O', 'B-ORG', 'B-ORG']), [
    { type: 'PER', start: 0, end: 1 }, { type: 'LOC', start: 2, end: 2 }, { type: 'ORG', start: 4, end: 4 }, { type: 'ORG', start: 5, end: 5 },
  ]);
});

test('token classification scores only the positions whose label is not -100', () => {
  const names = ['B-PER', 'I-PER', 'O'];
  // Row: [CLS] Bob Smith ##son [SEP] — the predictions at ignored positions are wrong on purpose.
  const p = { predictions: Float32Array.of(0, 0, 1, 0, 0), labelIds: Float64Array.of(-100, 0, 1, -100, -100), n: 1, width: 5 };
  assert.deepEqual(taskMetrics('token-classification', p, 0.1, names), { precision: 1, recall: 1, f1: 1, accuracy: 1 });
});

test('question answering: exact match and token-overlap F1 in percent', () => {
  // Row 1 exact; row 2 predicts [3, 6] for gold [4, 5]: precision 2/4, recall 1 → F1 2/3.
  const p = { predictions: Float32Array.of(1, 2, 3, 6), labelIds: Float64Array.of(1, 2, 4, 5), n: 2, width: 2 };
  const m = taskMetrics('question-answering', p, 1);
  assert.equal(m.exact_match, 50);
  assert.ok(Math.abs(m.f1 - (100 * (1 + 2 / 3)) / 2) < 1e-9);
});

test('language models report perplexity = exp(eval_loss); fill-mask also masked-token accuracy', () => {
  const p = { predictions: Float32Array.of(7, 8, 9), labelIds: Float64Array.of(-100, 8, 1), n: 1, width: 3 };
  assert.deepEqual(taskMetrics('text-generation', p, 2), { perplexity: Math.exp(2) });
  assert.deepEqual(taskMetrics('fill-mask', p, 2), { accuracy: 0.5, perplexity: Math.exp(2) });
});

const LOGITS = Float32Array.of(0.1, 3, 2.9, -1, 0.5);
const SAMPLE = { max_new_tokens: 1, do_sample: true, temperature: 1, top_k: 50, top_p: 1 };

test('generation: greedy takes the most likely token; sampling with top_k 1 or a tiny top_p does too', () => {
  assert.equal(nextToken(LOGITS, { ...SAMPLE, do_sample: false }, 0), 1);
  for (let k = 0; k < 20; k++) {
    assert.equal(nextToken(LOGITS, { ...SAMPLE, top_k: 1 }, keyOf(k)), 1);
    assert.equal(nextToken(LOGITS, { ...SAMPLE, top_p: 0.01 }, keyOf(k)), 1);
  }
});

test('generation: sampling draws tokens in proportion to their probability, within top_k', () => {
  const counts = new Array(5).fill(0);
  for (let k = 0; k < 4000; k++) counts[nextToken(LOGITS, { ...SAMPLE, top_k: 2 }, keyOf(7, k))]++;
  const p1 = Math.exp(3) / (Math.exp(3) + Math.exp(2.9));
  assert.equal(counts[0] + counts[3] + counts[4], 0);
  assert.ok(Math.abs(counts[1] / 4000 - p1) < 0.03, `token 1 drawn ${counts[1]} times`);
});
