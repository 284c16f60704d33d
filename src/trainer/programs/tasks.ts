// The task families Trainer fine-tunes, with optimum's task names, and what each one reads:
// which model outputs its loss head takes and which data columns are its targets (Hugging
// Face's names). Everything task-specific about graphs starts from this table.

import type { Dim, ValueInfo } from '../onnx/graph';
import { DataType } from '../onnx/tensor';

export const TASKS = ['text-classification', 'token-classification', 'question-answering', 'text-generation', 'fill-mask'] as const;

export type Task = (typeof TASKS)[number];

/** Label value Hugging Face's losses skip (CrossEntropyLoss's default ignore_index). */
export const IGNORE_INDEX = -100;

// Hugging Face model class names end with the head they carry (BertForTokenClassification,
// GPT2LMHeadModel, LlamaForCausalLM…); the suffix decides the task as optimum's TasksManager does.
const ARCHITECTURE_SUFFIXES: [RegExp, Task][] = [
  [/ForTokenClassification$/, 'token-classification'],
  [/ForQuestionAnswering$/, 'question-answering'],
  [/(ForCausalLM|LMHeadModel)$/, 'text-generation'],
  [/ForMaskedLM$/, 'fill-mask'],
  [/ForSequenceClassification$/, 'text-classification'],
];

/** The task of a config.json's `architectures`, when one of them names a known head. */
export function taskOfArchitectures(architectures: readonly string[]): Task | undefined {
  for (const a of architectures) for (const [re, task] of ARCHITECTURE_SUFFIXES) if (re.test(a)) return task;
  return undefined;
}

/** Whether a task's labels are one id per token (token classification and the language models). */
export function isTokenLevel(task: Task): boolean {
  return task === 'token-classification' || task === 'text-generation' || task === 'fill-mask';
}

/** The model outputs a task's loss reads, in order (question answering reads two). */
export function taskOutputs(task: Task, graphOutputs: readonly string[], chosen?: string): string[] {
  if (task === 'question-answering') return ['start_logits', 'end_logits'];
  return [chosen ?? graphOutputs[0]];
}

/** The target columns of a task; they are fed to the loss as graph inputs of the same names. */
export function targetColumns(task: Task): string[] {
  return task === 'question-answering' ? ['start_positions', 'end_positions'] : ['labels'];
}

/** Graph inputs of a token-level or question-answering task's targets (int64 ids), from the logits' shape. */
export function tokenTargetInputs(task: Task, logits: readonly Dim[] | undefined): ValueInfo[] {
  if (task === 'question-answering') return targetColumns(task).map((name) => ({ name, type: DataType.INT64, shape: logits?.slice(0, 1) }));
  return [{ name: 'labels', type: DataType.INT64, shape: logits?.slice(0, -1) }];
}
