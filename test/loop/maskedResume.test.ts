// Fill-mask on raw text: the collator's masking is drawn anew each epoch from the seed, so a run
// resumed from a checkpoint logs exactly the losses of the run that never stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, runCli, tempDir, writeConfig } from '../helpers';

const WORDS = ['cat', 'dog', 'eats', 'sleeps', 'fish', 'meat', 'in', 'the', 'house', 'garden'];

test('a resumed fill-mask run on raw text masks and logs exactly as the uninterrupted run', () => {
  const dir = tempDir('masked-resume');
  const lines = Array.from({ length: 24 }, (_, i) => JSON.stringify({ text: Array.from({ length: 6 + (i % 4) }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ') }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  const config = (out: string) => writeConfig(dir, {
    model: { builtin: 'bert', task: 'fill-mask', tokenizer: 'train', vocab_size: 40, num_hidden_layers: 1, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, dropout: 0 },
    data: { train: 'train.jsonl', mlm_probability: 0.3 },
    // 24 texts, batch 8: 3 steps per epoch, 6 steps; the checkpoint at step 3 ends epoch 1.
    training: { output_dir: out, num_train_epochs: 2, per_device_train_batch_size: 8, learning_rate: 0.01, logging_steps: 1, save_steps: 3, seed: 5 },
  }, `${out}.yaml`);
  const first = runCli(['train', config('full')]);
  assert.equal(first.code, 0, first.stderr);
  const resumed = path.join(dir, 'resumed');
  fs.cpSync(path.join(dir, 'full', 'checkpoint-3'), path.join(resumed, 'checkpoint-3'), { recursive: true });
  const r = runCli(['train', config('resumed'), '--resume', path.join(resumed, 'checkpoint-3')]);
  assert.equal(r.code, 0, r.stderr);
  const losses = (out: string) => (readJson(path.join(dir, out, 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e).map((e) => [e.step, e.loss]);
  const full = losses('full');
  assert.equal(full.length, 6);
  assert.deepEqual(losses('resumed'), full);
  assert.notEqual(full[0][1], full[3][1], 'epochs see different masks and weights');
});
