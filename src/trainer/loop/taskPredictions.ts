// predict() output of the tasks beyond sequence classification, one JSON object per example,
// shaped like Hugging Face's pipelines: tags per word (or per token) for token classification,
// the answer span for question answering, the top-k fills of each masked position for fill-mask
// and the generated text for text generation.

import { Dataset } from '../data/dataset';
import { answerText } from '../data/squad';
import { IGNORE_INDEX, Task } from '../programs/tasks';
import type { Generated } from './generation';
import type { EvalPrediction } from './metrics';

export interface PredictionText {
  /** Token ids to text, special tokens skipped; absent without a tokenizer. */
  decode?: (ids: readonly number[]) => string;
  /** Tag names by id (token classification). */
  names?: string[];
}

/** One record per example of `data`; `generated` holds text generation's continuations. */
export function taskPredictionRecords(task: Exclude<Task, 'text-classification'>, data: Dataset, p: EvalPrediction, text: PredictionText, generated?: Generated[]): Record<string, unknown>[] {
  return Array.from({ length: p.n }, (_, i) => {
    const example = data.example(i);
    const ids = Array.from(example.features.get('input_ids')?.data ?? [], Number);
    const rec: Record<string, unknown> = { line: example.line };
    const row = Array.from(p.predictions.subarray(i * p.width, (i + 1) * p.width));
    switch (task) {
      case 'token-classification':
        rec.predicted_tags = tagsOf(row.slice(0, ids.length), example.wordIds, example.label as number[] | undefined).map((id) => text.names?.[id] ?? id);
        break;
      case 'question-answering': {
        const [start, end] = row;
        Object.assign(rec, { start_position: start, end_position: end });
        if (example.qa) rec.answer = answerText(example.qa, example.wordIds ?? [], start, end);
        else if (text.decode) rec.answer = text.decode(ids.slice(start, end + 1));
        break;
      }
      case 'fill-mask':
        rec.fills = (p.fills?.[i] ?? []).map((f) => ({
          position: f.position,
          candidates: f.token_ids.map((token, k) => ({ token, ...(text.decode ? { token_str: text.decode([token]) } : {}), score: f.scores[k] })),
        }));
        break;
      case 'text-generation': {
        const g = generated?.[i];
        if (!g) break;
        rec.new_token_ids = g.new_ids;
        if (text.decode) rec.generated_text = text.decode([...g.prompt_ids, ...g.new_ids]);
        break;
      }
    }
    if (example.label !== undefined) {
      const gold = example.label as number[];
      rec.label = task === 'token-classification' ? tagsOf(gold, example.wordIds, gold).map((id) => text.names?.[id] ?? id) : gold;
    }
    return rec;
  });
}

/**
 * Token classification's predicted ids: one per word (its first sub-token's) when the example
 * came from words, else one per labelled token when labels are known, else one per token.
 */
function tagsOf(row: number[], wordIds?: (number | null)[], labels?: number[]): number[] {
  if (wordIds) return row.filter((_, j) => wordIds[j] !== null && (j === 0 || wordIds[j - 1] !== wordIds[j]));
  if (labels) return row.filter((_, j) => labels[j] !== IGNORE_INDEX);
  return row;
}
