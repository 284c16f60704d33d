// Text columns to model inputs: each record's text (or sentence pair) is tokenized, truncated to
// max_length, and given input_ids, attention_mask and token_type_ids, which later stack into
// batches padded per batch or to max_length (DataCollatorWithPadding semantics, collate.ts).

import { DataError } from '../errors';
import { TextTokenizer } from '../text';
import { DataRecord } from './readers';
import type { Task } from '../programs/tasks';
import { encodeTaskRecord, taskTextColumns } from './taskText';

export interface TextSpec {
  tokenizer: TextTokenizer;
  /** One column (a text) or two (a sentence pair). */
  columns: string[];
  maxLength: number;
  padding: 'longest' | 'max_length';
  /** Default text-classification; other tasks encode their own columns (taskText.ts). */
  task?: Task;
}

/** The inputs text encoding produces, and the value each is padded with. */
export function paddingValues(spec: TextSpec): Map<string, number> {
  return new Map([['input_ids', spec.tokenizer.padTokenId], ['attention_mask', 0], ['token_type_ids', 0]]);
}

/** The text columns a data set uses: configured, or sentence1/sentence2, text, sentence. */
export function textColumns(configured: string[] | undefined, first: DataRecord, task: Task = 'text-classification'): string[] {
  if (configured?.length) return configured;
  if (task !== 'text-classification') return taskTextColumns(task, first);
  const has = (k: string) => k in first.values;
  if (has('sentence1') && has('sentence2')) return ['sentence1', 'sentence2'];
  for (const k of ['text', 'sentence', 'review', 'content']) if (has(k)) return [k];
  return [];
}

/** The record with its text encoded: input_ids, attention_mask, token_type_ids added. */
export function encodeRecord(file: string, r: DataRecord, spec: TextSpec): DataRecord {
  if (spec.task && spec.task !== 'text-classification') return encodeTaskRecord(file, r, spec.task, spec.columns, spec.tokenizer, spec.maxLength);
  const texts = spec.columns.map((c) => {
    const v = r.values[c];
    if (v === undefined) throw new DataError(file, r.line, `no text column "${c}" (columns here: ${Object.keys(r.values).join(', ')})`);
    if (typeof v !== 'string') throw new DataError(file, r.line, `column "${c}" must hold text, got ${JSON.stringify(v)?.slice(0, 40)}`);
    return v;
  });
  const enc = spec.tokenizer.encode(texts[0], texts[1], { maxLength: spec.maxLength });
  return { line: r.line, values: { ...r.values, input_ids: enc.input_ids, attention_mask: enc.attention_mask, token_type_ids: enc.token_type_ids } };
}
