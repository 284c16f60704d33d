// The task families: which task a Hugging Face architecture name means (also read from a model
// folder's config.json), the loss heads as Hugging Face's model classes compute them (checked
// against the exported fixtures with real onnxruntime), and where the padding id comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, tempDir } from '../helpers';
import { taskOfArchitectures } from '../../src/trainer/programs/tasks';
import { loadConfig } from '../../src/trainer/config/config';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { EvalRunner, initialState } from '../../src/trainer/programs/executor';
import { DataType, Tensor } from '../../src/trainer/onnx/tensor';
import { paddingTokenId } from '../../src/trainer/programs/paddingRow';
import type { Task } from '../../src/trainer/programs/tasks';
import type { Dataset } from '../../src/trainer/data/dataset';

test('architecture names map to optimum\'s task names', () => {
  const cases: [string, string | undefined][] = [
    ['BertForTokenClassification', 'token-classification'], ['GPT2LMHeadModel', 'text-generation'], ['LlamaForCausalLM', 'text-generation'],
    ['RobertaForMaskedLM', 'fill-mask'], ['BertForQuestionAnswering', 'question-answering'], ['DistilBertForSequenceClassification', 'text-classification'],
    ['BertModel', undefined],
  ];
  for (const [arch, task] of cases) assert.equal(taskOfArchitectures([arch]), task, arch);
});

test('a model folder\'s config.json architectures decide the task when the config does not say', () => {
  const dir = tempDir('task-folder');
  fs.mkdirSync(path.join(dir, 'model'));
  fs.copyFileSync(path.join(FIXTURES, 'tasks', 'bert_qa_ts', 'model.onnx'), path.join(dir, 'model', 'model.onnx'));
  fs.writeFileSync(path.join(dir, 'model', 'config.json'), JSON.stringify({ architectures: ['BertForQuestionAnswering'] }));
  fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ model: { path: 'model' } }));
  fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ model: { path: 'model', task: 'token-classification' } }));
  assert.equal(loadConfig(path.join(dir, 'a.json')).model.task, 'question-answering');
  assert.equal(loadConfig(path.join(dir, 'b.json')).model.task, 'token-classification');
});

type Row = Record<string, number | number[]>;

function rowsOf(name: string): Row[] {
  return fs.readFileSync(path.join(FIXTURES, 'tasks', name, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

function batchOf(rows: Row[]): Map<string, Tensor> {
  const batch = new Map<string, Tensor>();
  for (const k of Object.keys(rows[0])) {
    const values = rows.map((r) => r[k]);
    const dims = Array.isArray(values[0]) ? [rows.length, values[0].length] : [rows.length];
    batch.set(k, { type: DataType.INT64, dims, data: BigInt64Array.from(values.flat(), (v) => BigInt(v)) });
  }
  return batch;
}

async function evalLoss(name: string, task: Task, rows: Row[], withLoss = true): Promise<{ loss?: number; logits: Tensor }> {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'tasks', name, 'model.onnx')), { task });
  const runner = await EvalRunner.create(prepared, withLoss ? { task, problemType: 'single_label_classification', numLabels: 5 } : undefined);
  try {
    const out = await runner.run(initialState(prepared, []), batchOf(rows));
    return { loss: out.loss, logits: out.logits! };
  } finally {
    await runner.release();
  }
}

test('question answering: positions past the sequence are clamped to it and ignored', async () => {
  const rows = rowsOf('bert_qa_ts').slice(0, 4);
  const outside = { ...rows[3], start_positions: 100, end_positions: 100 };
  const withIgnoredRow = await evalLoss('bert_qa_ts', 'question-answering', [...rows.slice(0, 3), outside]);
  const withoutRow = await evalLoss('bert_qa_ts', 'question-answering', rows.slice(0, 3));
  const withRow = await evalLoss('bert_qa_ts', 'question-answering', rows);
  assert.ok(Math.abs(withIgnoredRow.loss! - withoutRow.loss!) < 1e-6);
  assert.ok(Math.abs(withRow.loss! - withoutRow.loss!) > 1e-3, 'the row matters when its positions are inside');
});

test('causal LM: position t is scored against token t + 1, padding (-100) skipped', async () => {
  const rows = rowsOf('gpt2_clm_ts').slice(0, 3);
  const { loss } = await evalLoss('gpt2_clm_ts', 'text-generation', rows);
  const { logits } = await evalLoss('gpt2_clm_ts', 'text-generation', rows.map(({ labels: _, ...r }) => r), false);
  const [n, seq, vocab] = logits.dims;
  const data = logits.data as Float32Array;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t + 1 < seq; t++) {
      const target = (rows[i].labels as number[])[t + 1];
      if (target === -100) continue;
      const row = data.subarray((i * seq + t) * vocab, (i * seq + t + 1) * vocab);
      const max = Math.max(...row);
      const logSum = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
      sum += logSum - row[target];
      count++;
    }
  }
  assert.ok(Math.abs(loss! - sum / count) < 1e-5, `${loss} vs ${sum / count}`);
});

function dataset(rows: { input_ids: number[]; attention_mask: number[] }[]): Dataset {
  const feature = (v: number[]) => ({ dims: [v.length], data: BigInt64Array.from(v, BigInt) });
  const examples = rows.map((r, i) => ({ line: i + 1, features: new Map([['input_ids', feature(r.input_ids)], ['attention_mask', feature(r.attention_mask)]]) }));
  return { file: 'd.jsonl', size: rows.length, example: (i) => examples[i], hasLabels: false };
}

test('the padding id is the tokenizer\'s, else the one id found where attention_mask is 0', () => {
  const padded = dataset([{ input_ids: [5, 6, 1, 1], attention_mask: [1, 1, 0, 0] }, { input_ids: [7, 8, 9, 1], attention_mask: [1, 1, 1, 0] }]);
  assert.equal(paddingTokenId(padded), 1);
  assert.equal(paddingTokenId(padded, 0), 0);
  assert.equal(paddingTokenId(dataset([{ input_ids: [5, 6], attention_mask: [1, 1] }])), undefined);
  assert.equal(paddingTokenId(dataset([{ input_ids: [5, 0, 1], attention_mask: [1, 0, 0] }])), undefined);
});
