// Text data of the tasks beyond sequence classification, encoded as Hugging Face's example
// scripts do: words + word-level tags with the tag on each word's first sub-token and -100 on the
// rest (run_ner, label_all_tokens=False); a `text` column for language models, or `prompt` +
// `completion` with the prompt ignored in the loss (TRL's completion-only loss); and packing of
// tokenized texts into max_length blocks (run_clm's group_texts).

import { DataError } from '../errors';
import { IGNORE_INDEX, Task } from '../programs/tasks';
import { TextTokenizer } from '../text';
import { DataRecord } from './readers';
import { MemorySource, RecordSource } from './source';
import { encodeSquadRecord } from './squad';

/** Columns read as words and as their tags, in order of preference (datasets' conll2003 names first). */
export const WORD_COLUMNS = ['tokens', 'words'];
export const TAG_COLUMNS = ['ner_tags', 'tags', 'labels'];

/** The text columns of a task's records, when the config names none. */
export function taskTextColumns(task: Task, first: DataRecord): string[] {
  const has = (k: string) => k in first.values;
  if (task === 'token-classification') return WORD_COLUMNS.filter(has).slice(0, 1);
  if (task === 'question-answering') return ['question', 'context'].filter(has);
  if (task === 'text-generation' && has('prompt')) return has('completion') ? ['prompt', 'completion'] : ['prompt'];
  return ['text'].filter(has);
}

function text(file: string, r: DataRecord, column: string): string {
  const v = r.values[column];
  if (typeof v !== 'string') throw new DataError(file, r.line, `column "${column}" must hold text, got ${JSON.stringify(v)?.slice(0, 40) ?? 'nothing'}`);
  return v;
}

/** One record of a token-level task encoded: input_ids, attention_mask, token_type_ids and, where known, labels. */
export function encodeTaskRecord(file: string, r: DataRecord, task: Task, columns: string[], tokenizer: TextTokenizer, maxLength: number): DataRecord {
  if (task === 'token-classification') return encodeTagged(file, r, columns[0], tokenizer, maxLength);
  if (task === 'question-answering') return encodeSquadRecord(file, r, tokenizer, maxLength);
  if (columns.length === 2) {
    const prompt = tokenizer.encode(text(file, r, columns[0]), undefined, { addSpecialTokens: false }).input_ids;
    const eos = tokenizer.specialTokenIds.eos;
    const completion = [...tokenizer.encode(text(file, r, columns[1]), undefined, { addSpecialTokens: false }).input_ids, ...(eos === undefined ? [] : [eos])];
    const ids = [...prompt, ...completion].slice(0, maxLength);
    const labels = [...prompt.map(() => IGNORE_INDEX), ...completion].slice(0, maxLength);
    return { line: r.line, values: { ...r.values, input_ids: ids, attention_mask: ids.map(() => 1), token_type_ids: ids.map(() => 0), labels } };
  }
  // A bare prompt is encoded as prompt + completion training data is: without special tokens.
  const enc = tokenizer.encode(text(file, r, columns[0]), undefined, { maxLength, addSpecialTokens: columns[0] !== 'prompt' });
  return { line: r.line, values: { ...r.values, input_ids: enc.input_ids, attention_mask: enc.attention_mask, token_type_ids: enc.token_type_ids } };
}

function encodeTagged(file: string, r: DataRecord, column: string, tokenizer: TextTokenizer, maxLength: number): DataRecord {
  const words = r.values[column];
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) {
    throw new DataError(file, r.line, `column "${column}" must be a list of words, got ${JSON.stringify(words)?.slice(0, 40) ?? 'nothing'}`);
  }
  const tagColumn = TAG_COLUMNS.find((c) => c in r.values);
  const tags = tagColumn === undefined ? undefined : r.values[tagColumn];
  if (tags !== undefined && (!Array.isArray(tags) || tags.length !== words.length)) {
    throw new DataError(file, r.line, `column "${tagColumn}" must hold one tag per word (${words.length} words)`);
  }
  const enc = tokenizer.encodeWords(words as string[], { maxLength });
  const values: DataRecord['values'] = { ...r.values, input_ids: enc.input_ids, attention_mask: enc.attention_mask, token_type_ids: enc.token_type_ids, word_ids: enc.word_ids };
  if (Array.isArray(tags)) {
    values.labels = enc.word_ids.map((w, i) => (w === null || (i > 0 && enc.word_ids[i - 1] === w) ? IGNORE_INDEX : (tags[w] as number | string)));
  }
  return { line: r.line, values };
}

/**
 * The source of packed blocks: every record's text tokenized and concatenated, cut into blocks of
 * `maxLength` tokens (the remainder dropped), each with labels = input_ids, as group_texts does.
 */
export function packedSource(source: RecordSource, encode: (r: DataRecord) => DataRecord, maxLength: number): MemorySource {
  const blocks: DataRecord[] = [];
  let ids: number[] = [];
  let line = 0;
  for (const r of source.scan()) {
    if (ids.length === 0) line = r.line;
    ids.push(...(encode(r).values.input_ids as number[]));
    while (ids.length >= maxLength) {
      const block = ids.slice(0, maxLength);
      ids = ids.slice(maxLength);
      blocks.push({ line, values: { input_ids: block, attention_mask: block.map(() => 1), token_type_ids: block.map(() => 0), labels: block } });
      line = r.line;
    }
  }
  return new MemorySource(source.file, blocks);
}
