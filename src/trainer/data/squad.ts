// Extractive question answering on SQuAD-shaped text: `question`, `context` and `answers`
// ({ text: [...], answer_start: [...] }, character offsets). The context is split on whitespace
// into words with their character spans, as the original BERT SQuAD preprocessing does; the
// answer's first and last characters name its words, and its token positions are the first token
// of the first word and the last token of the last. An answer cut off by truncation points at
// the first token (start = end = 0), as Hugging Face's run_qa does.

import { DataError } from '../errors';
import { TextTokenizer } from '../text';
import { DataRecord } from './readers';

/** What scoring and predicting need of an example's text. */
export interface QaText {
  context: string;
  /** [first, last + 1] character offsets of each context word. */
  spans: [number, number][];
  answers: string[];
}

/** Whitespace-separated words of `text` with their character spans. */
export function wordSpans(text: string): [number, number][] {
  return [...text.matchAll(/\S+/g)].map((m) => [m.index!, m.index! + m[0].length]);
}

function answersOf(file: string, r: DataRecord): { texts: string[]; starts: number[] } | undefined {
  const a = r.values.answers as { text?: unknown; answer_start?: unknown } | undefined;
  if (a === undefined) return undefined;
  const texts = a?.text;
  const starts = a?.answer_start;
  const ok = Array.isArray(texts) && Array.isArray(starts) && texts.length === starts.length &&
    texts.every((t) => typeof t === 'string') && starts.every((s) => Number.isInteger(s));
  if (!ok) throw new DataError(file, r.line, 'column "answers" must be { "text": [...], "answer_start": [...] } (SQuAD), with one character offset per text');
  return { texts: texts as string[], starts: starts as number[] };
}

/** The record with its question and context encoded, and start/end positions from its first answer. */
export function encodeSquadRecord(file: string, r: DataRecord, tokenizer: TextTokenizer, maxLength: number): DataRecord {
  const question = r.values.question;
  const context = r.values.context;
  if (typeof question !== 'string' || typeof context !== 'string') throw new DataError(file, r.line, 'question answering on text needs "question" and "context" columns holding text');
  const spans = wordSpans(context);
  const enc = tokenizer.encodeQuestionContext(question, spans.map(([s, e]) => context.slice(s, e)), maxLength);
  const answers = answersOf(file, r);
  const qa: QaText = { context, spans, answers: answers?.texts ?? [] };
  const values: DataRecord['values'] = { ...r.values, input_ids: enc.input_ids, attention_mask: enc.attention_mask, token_type_ids: enc.token_type_ids, word_ids: enc.word_ids, qa };
  if (answers && answers.texts.length) {
    const first = answers.starts[0];
    const last = first + Math.max(answers.texts[0].length, 1) - 1;
    if (context.slice(first, first + answers.texts[0].length) !== answers.texts[0]) {
      throw new DataError(file, r.line, `answer "${answers.texts[0]}" is not at character ${first} of the context`);
    }
    const wordAt = (c: number) => spans.findIndex(([s, e]) => c >= s && c < e);
    const [sw, ew] = [wordAt(first), wordAt(last)];
    const start = enc.word_ids.indexOf(sw);
    const end = enc.word_ids.lastIndexOf(ew);
    [values.start_positions, values.end_positions] = start < 0 || end < 0 ? [0, 0] : [start, end];
  }
  return { line: r.line, values };
}

/** SQuAD's answer normalization: lower case, no punctuation, no articles, single spaces. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '').replace(/\b(a|an|the)\b/g, ' ').split(/\s+/).filter(Boolean).join(' ');
}

/** SQuAD's exact match and F1 of one prediction against its best-matching gold answer (0 to 1). */
export function squadScores(prediction: string, answers: readonly string[]): { exact: number; f1: number } {
  const p = normalizeAnswer(prediction);
  let exact = 0;
  let f1 = 0;
  for (const a of answers) {
    const g = normalizeAnswer(a);
    if (p === g) exact = 1;
    const pt = p.split(' ').filter(Boolean);
    const gt = g.split(' ').filter(Boolean);
    const counts = new Map<string, number>();
    gt.forEach((t) => counts.set(t, (counts.get(t) ?? 0) + 1));
    let common = 0;
    for (const t of pt) {
      const c = counts.get(t) ?? 0;
      if (c > 0) {
        common++;
        counts.set(t, c - 1);
      }
    }
    if (common > 0) f1 = Math.max(f1, (2 * common) / (pt.length + gt.length));
  }
  return { exact, f1 };
}

/** The context text of token span [start, end]: from its first token's word to its last's. */
export function answerText(qa: QaText, wordIds: readonly (number | null)[], start: number, end: number): string {
  const first = wordIds[start];
  const last = wordIds[end];
  if (first === null || first === undefined || last === null || last === undefined || last < first) return '';
  return qa.context.slice(qa.spans[first][0], qa.spans[last][1]);
}
