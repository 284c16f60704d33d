// Trying a trained model on one input (`onnx-trainer try`, the editor's Try view): the input
// becomes one data record with the columns the config's task reads, goes through the predict
// path (the same tokenizer, image preprocessing and task decoding as `predict`), and the
// prediction becomes an answer in its task's natural form — labels with probabilities, a value,
// tags per word, an answer span, fill-mask candidates, a continuation.

import type { TryAnswer, TryInput } from '../protocol';
import type { TrainerConfig } from './config/config';
import { UserError } from './errors';

/** Hugging Face's default text columns for one text and for pairs (data.text_columns overrides). */
const PAIR_COLUMNS = ['sentence1', 'sentence2'];

/** The data record the input stands for, or a refusal naming what this model needs. */
export function tryRecord(config: TrainerConfig, input: TryInput): Record<string, unknown> {
  const task = config.model.task;
  const given = Object.entries(input).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length === 0) throw new UserError('try needs an input: --text, --question with --context, --image or --record');
  if (input.record !== undefined) {
    let record: unknown;
    try {
      record = JSON.parse(input.record);
    } catch {
      throw new UserError('--record: expected a data record as JSON, e.g. {"features": [0.5, 1.2]}');
    }
    if (!record || typeof record !== 'object' || Array.isArray(record)) throw new UserError('--record: expected a JSON object (one data record)');
    return record as Record<string, unknown>;
  }
  if (input.image !== undefined) return { [config.data.image.column]: input.image };
  switch (task) {
    case 'question-answering':
      if (input.question === undefined || input.context === undefined) throw new UserError('a question-answering model needs --question and --context');
      return { question: input.question, context: input.context };
    case 'token-classification':
      if (input.text === undefined) throw new UserError('a token-classification model needs --text (its words are tagged)');
      return { tokens: input.text.split(/\s+/).filter(Boolean) };
    default: {
      if (input.text === undefined) throw new UserError(`this model needs --text${task === 'text-classification' ? ' (and --text-pair for sentence pairs)' : ''}, --image or --record`);
      const columns = config.data.text_columns ?? (input.textPair !== undefined ? PAIR_COLUMNS : ['text']);
      if (input.textPair !== undefined && columns.length < 2) throw new UserError(`--text-pair: the config reads one text column (${columns[0]})`);
      const record: Record<string, unknown> = { [columns[0]]: input.text };
      if (columns.length > 1) record[columns[1]] = input.textPair ?? '';
      return record;
    }
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** The answer of a task from its prediction record (as `predict` writes it) and the input. */
export function tryAnswer(config: TrainerConfig, input: TryInput, prediction: Record<string, unknown>, names: string[] | undefined): TryAnswer {
  const task = config.model.task;
  switch (task) {
    case 'text-classification': {
      const logits = prediction.logits as number[];
      const problem = config.model.problem_type;
      if (problem === 'regression') return { kind: 'values', values: logits };
      const multiLabel = problem === 'multi_label_classification';
      const scores = multiLabel ? logits.map(sigmoid) : softmax(logits);
      const best = scores.indexOf(Math.max(...scores));
      const labels = scores.map((score, k) => ({ label: names?.[k] ?? `LABEL_${k}`, score, predicted: multiLabel ? score > 0.5 : k === best }));
      return { kind: 'labels', multiLabel, labels: labels.sort((a, b) => b.score - a.score) };
    }
    case 'token-classification':
      return { kind: 'tags', words: (input.text ?? '').split(/\s+/).filter(Boolean), tags: (prediction.predicted_tags as unknown[]).map(String) };
    case 'question-answering': {
      const answer = String(prediction.answer ?? '');
      const context = input.context ?? '';
      return { kind: 'span', answer, context, start: answer ? context.toLowerCase().indexOf(answer.toLowerCase()) : -1 };
    }
    case 'fill-mask': {
      const fills = (prediction.fills as { position: number; candidates: { token: number; token_str?: string; score: number }[] }[]) ?? [];
      return { kind: 'fills', fills: fills.map((f) => ({ position: f.position, candidates: f.candidates.map((c) => ({ token: c.token_str ?? String(c.token), score: c.score })) })) };
    }
    case 'text-generation':
      return { kind: 'generation', prompt: input.text ?? '', text: String(prediction.generated_text ?? '') };
  }
}
