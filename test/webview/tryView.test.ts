// The Try view's answers: from a prediction record (as `predict` writes it) to the task's answer
// (tryModel.ts), and from an answer to what the view draws (webview/try/answerView.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrainerConfig } from '../../src/trainer/config/config';
import { tryAnswer, tryRecord } from '../../src/trainer/tryModel';
import { answerNodes, AnswerNode } from '../../webview/try/answerView';

const config = (task: string, problem = 'single_label_classification', textColumns?: string[]) =>
  ({ model: { task, problem_type: problem }, data: { text_columns: textColumns, image: { column: 'image' } } }) as unknown as TrainerConfig;

const texts = (nodes: AnswerNode[]): string[] => nodes.flatMap((n) => [...(n.text !== undefined ? [n.text] : []), ...texts(n.children ?? [])]);

test('classification: softmax probabilities best first; multi-label: sigmoid with 0.5; regression: the value', () => {
  const a = tryAnswer(config('text-classification'), { text: 'x' }, { logits: [0, Math.log(3)] }, ['neg', 'pos']);
  assert.equal(a.kind, 'labels');
  if (a.kind !== 'labels') return;
  assert.deepEqual(a.labels.map((l) => [l.label, Number(l.score.toFixed(6)), l.predicted]), [['pos', 0.75, true], ['neg', 0.25, false]]);
  assert.deepEqual(texts(answerNodes(a)).slice(0, 4), ['pos (75.0%)', 'pos', '75.0%', 'neg']);
  const m = tryAnswer(config('text-classification', 'multi_label_classification'), { text: 'x' }, { logits: [2, -1, 0.5] }, ['a', 'b', 'c']);
  assert.ok(m.kind === 'labels' && m.multiLabel);
  if (m.kind === 'labels') assert.deepEqual(m.labels.filter((l) => l.predicted).map((l) => l.label), ['a', 'c']);
  assert.deepEqual(tryAnswer(config('text-classification', 'regression'), { text: 'x' }, { logits: [3.25] }, undefined), { kind: 'values', values: [3.25] });
});

test('token tags per word, the answer span found in its context, fill-mask candidates, a continuation', () => {
  const tags = tryAnswer(config('token-classification'), { text: 'Omar works  in Rome' }, { predicted_tags: ['B-PER', 'O', 'O', 'B-LOC'] }, undefined);
  assert.deepEqual(tags, { kind: 'tags', words: ['Omar', 'works', 'in', 'Rome'], tags: ['B-PER', 'O', 'O', 'B-LOC'] });
  assert.deepEqual(answerNodes(tags)[0].children!.map((n) => n.tag), ['mark', 'span', 'span', 'mark']);
  const span = tryAnswer(config('question-answering'), { question: 'where?', context: 'Ben lives in Rome now' }, { answer: 'rome' }, undefined);
  assert.deepEqual(span, { kind: 'span', answer: 'rome', context: 'Ben lives in Rome now', start: 13 });
  assert.deepEqual(texts(answerNodes(span)), ['Answer: Rome', 'Ben lives in ', 'Rome', ' now']);
  const fills = tryAnswer(config('fill-mask'), { text: 'the [MASK] eats' }, { fills: [{ position: 2, candidates: [{ token: 7, token_str: 'cow', score: 0.9 }, { token: 8, score: 0.1 }] }] }, undefined);
  assert.deepEqual(fills, { kind: 'fills', fills: [{ position: 2, candidates: [{ token: 'cow', score: 0.9 }, { token: '8', score: 0.1 }] }] });
  const gen = tryAnswer(config('text-generation'), { text: 'once upon' }, { generated_text: 'once upon a time' }, undefined);
  assert.deepEqual(texts(answerNodes(gen)), ['once upon', ' a time']);
});

test('the input becomes the record the task reads', () => {
  assert.deepEqual(tryRecord(config('text-classification'), { text: 'hi' }), { text: 'hi' });
  assert.deepEqual(tryRecord(config('text-classification'), { text: 'a', textPair: 'b' }), { sentence1: 'a', sentence2: 'b' });
  assert.deepEqual(tryRecord(config('text-classification', undefined, ['review']), { text: 'hi' }), { review: 'hi' });
  assert.deepEqual(tryRecord(config('token-classification'), { text: 'Omar  works' }), { tokens: ['Omar', 'works'] });
  assert.deepEqual(tryRecord(config('question-answering'), { question: 'q', context: 'c' }), { question: 'q', context: 'c' });
  assert.deepEqual(tryRecord(config('text-classification'), { image: '/a.png' }), { image: '/a.png' });
  assert.deepEqual(tryRecord(config('text-classification'), { record: '{"features": [1, 2]}' }), { features: [1, 2] });
  assert.throws(() => tryRecord(config('question-answering'), { question: 'q' }), /needs --question and --context/);
  assert.throws(() => tryRecord(config('text-classification', undefined, ['review']), { text: 'a', textPair: 'b' }), /reads one text column \(review\)/);
});
