// predict writes each task's natural output: tags per token, an answer span, top-k fills of the
// masked positions, and generated continuations (trained first on the task fixtures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, copyFixture, readJson, runCli, tempDir } from '../helpers';

function trainAndPredict(name: string, extra: Record<string, unknown> = {}): Record<string, unknown>[] {
  const dir = tempDir(`predict-${name}`);
  copyFixture(path.join(FIXTURES, 'tasks', name), dir);
  const config = readJson(path.join(dir, 'trainer.json')) as { data: Record<string, string> };
  config.data.test = 'train.jsonl';
  fs.writeFileSync(path.join(dir, 'trainer.json'), JSON.stringify({ ...config, ...extra }));
  for (const command of ['train', 'predict']) {
    const r = runCli([command, path.join(dir, 'trainer.json')]);
    assert.equal(r.code, 0, r.stderr);
  }
  return fs.readFileSync(path.join(dir, 'out', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

const rows = (name: string) => fs.readFileSync(path.join(FIXTURES, 'tasks', name, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('token classification: one predicted tag per labelled token', () => {
  const out = trainAndPredict('bert_tokcls_ts');
  const data = rows('bert_tokcls_ts');
  assert.equal(out.length, data.length);
  out.forEach((r, i) => {
    const labelled = (data[i].labels as number[]).filter((l) => l !== -100);
    assert.equal((r.predicted_tags as number[]).length, labelled.length);
    assert.deepEqual(r.label, labelled);
  });
});

test('question answering: a span inside the attended tokens, start ≤ end', () => {
  const data = rows('bert_qa_ts');
  trainAndPredict('bert_qa_ts').forEach((r, i) => {
    const length = (data[i].attention_mask as number[]).filter((m) => m === 1).length;
    const [start, end] = [r.start_position as number, r.end_position as number];
    assert.ok(start >= 0 && start <= end && end < length, `row ${i}: [${start}, ${end}] of ${length}`);
  });
});

test('fill-mask: five candidates with descending scores for each masked position', () => {
  const data = rows('bert_mlm_ts');
  trainAndPredict('bert_mlm_ts').forEach((r, i) => {
    const masked = (data[i].labels as number[]).flatMap((l, j) => (l === -100 ? [] : [j]));
    const fills = r.fills as { position: number; candidates: { token: number; score: number }[] }[];
    assert.deepEqual(fills.map((f) => f.position), masked);
    for (const f of fills) {
      assert.equal(f.candidates.length, 5);
      f.candidates.slice(1).forEach((c, k) => assert.ok(c.score <= f.candidates[k].score));
    }
  });
});

test('text generation: max_new_tokens greedy tokens after each prompt, the same on every run', () => {
  const generation = { generation: { max_new_tokens: 4 } };
  const a = trainAndPredict('gpt2_clm_ts', generation);
  a.forEach((r) => assert.equal((r.new_token_ids as number[]).length, 4));
  assert.deepEqual(trainAndPredict('gpt2_clm_ts', generation).map((r) => r.new_token_ids), a.map((r) => r.new_token_ids));
});
