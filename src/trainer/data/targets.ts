// Targets of the tasks beyond sequence classification, with Hugging Face's column names:
// `labels` as one id per token (token classification, language models; -100 = ignored) and
// `start_positions` / `end_positions` (question answering). Text-generation data without
// `labels` gets input_ids with padding ignored, as DataCollatorForLanguageModeling(mlm=False).

import { DataError } from '../errors';
import { IGNORE_INDEX, Task } from '../programs/tasks';
import { DataRecord } from './readers';

export interface TargetSpec {
  task: Task;
  numLabels: number;
  /** Tag names by id (token classification); text tags are looked up here. */
  names?: string[];
}

/** A record's target: per-token ids, or question answering's [start, end]; undefined when it has none. */
export function taskTargetOf(r: DataRecord, file: string, spec: TargetSpec): number[] | undefined {
  if (spec.task === 'question-answering') return spanOf(r, file);
  const raw = r.values.labels ?? (spec.task === 'text-generation' ? causalLabels(r) : undefined);
  if (raw === undefined || raw === null) return undefined;
  const fail = (msg: string) => new DataError(file, r.line, `column "labels" ${msg}`);
  if (!Array.isArray(raw)) throw fail(`expected a list with one label per token (${IGNORE_INDEX} = ignored), got ${JSON.stringify(raw).slice(0, 40)}`);
  const ids = raw.map((v) => {
    if (typeof v === 'string' && spec.task === 'token-classification') {
      const id = spec.names?.indexOf(v) ?? -1;
      if (id < 0) throw fail(`tag "${v}" is not one of the labels (${spec.names?.join(', ') ?? 'none known: set model.id2label'})`);
      return id;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) throw fail(`holds ${JSON.stringify(v)}, expected integer ids (${IGNORE_INDEX} = ignored)`);
    if (v !== IGNORE_INDEX && v < 0) throw fail(`holds ${v}, expected ids ≥ 0 or ${IGNORE_INDEX}`);
    if (spec.task === 'token-classification' && v >= spec.numLabels) throw fail(`holds ${v}, out of range for num_labels ${spec.numLabels}`);
    return v;
  });
  const tokens = r.values.input_ids;
  if (Array.isArray(tokens) && tokens.length !== ids.length) throw fail(`has ${ids.length} labels for ${tokens.length} tokens in "input_ids"`);
  return ids;
}

/** input_ids with the padded positions (attention_mask 0) ignored. */
function causalLabels(r: DataRecord): unknown {
  const ids = r.values.input_ids;
  const mask = r.values.attention_mask;
  if (!Array.isArray(ids)) return undefined;
  return ids.map((v, i) => (Array.isArray(mask) && mask[i] === 0 ? IGNORE_INDEX : v));
}

function spanOf(r: DataRecord, file: string): number[] | undefined {
  const start = r.values.start_positions;
  const end = r.values.end_positions;
  if (start === undefined && end === undefined) return undefined;
  for (const [k, v] of [['start_positions', start], ['end_positions', end]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new DataError(file, r.line, `column "${k}" expected a token index (an integer), got ${JSON.stringify(v)}`);
  }
  return [start as number, end as number];
}
