// The workspace the end-to-end tests open: a long-running config (stopped and resumed by the
// tests), one the tests kill to see a crash reported, a YAML and a JSON config with a typo, and a
// small text classifier to try.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { twoMoons } from '../../src/extension/scaffold';

function config(outputDir: string, extra = ''): string {
  return `# A run long enough to be stopped: about 130 steps a second on two cores, so it never ends by itself in a test.
model:
  builtin: mlp
  hidden_sizes: [256, 256]
  num_labels: 2
data:
  train: ../data/train.jsonl
  eval: ../data/eval.jsonl
training:
  output_dir: ${outputDir}
  max_steps: 200000
  per_device_train_batch_size: 64
  learning_rate: 1.0e-3
  logging_steps: 10
  eval_strategy: steps
  eval_steps: 100
  save_steps: 100
  save_total_limit: 4
  metric_for_best_model: accuracy
${extra}`;
}

/** Writes the workspace into `dir` (emptied first). */
export function writeWorkspace(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  write('data/train.jsonl', twoMoons(2000, 1));
  // Every 40th evaluation label is flipped, so even a well-trained model has mistakes to list.
  write('data/eval.jsonl', twoMoons(200, 2).trim().split('\n').map((l, i) => (i % 40 === 39 ? l.replace(/"labels":(\d)/, (_, k) => `"labels":${1 - Number(k)}`) : l)).join('\n') + '\n');
  write('moons/trainer.yaml', config('out'));
  write('crash/crash.trainer.yaml', config('out'));
  write('typo/typo.trainer.yaml', config('out').replace('learning_rate:', 'learning_rat:'));
  // A small text classifier, trained by the tests' `before` with the command line: Try Model asks it.
  write('words/data.jsonl', Array.from({ length: 48 }, (_, i) => JSON.stringify({ text: i % 2 ? 'the film was awful and poor' : 'the film was great and fine', label: i % 2 ? 'neg' : 'pos' })).join('\n') + '\n');
  write('words/trainer.yaml', `model:
  builtin: bert
  tokenizer: train
  vocab_size: 40
  num_hidden_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  intermediate_size: 32
  max_position_embeddings: 16
  num_labels: 2
data:
  train: data.jsonl
training:
  output_dir: out
  max_steps: 6
  per_device_train_batch_size: 8
  learning_rate: 0.01
  save_steps: 6
  report_to: none
`);
  write('json/trainer.json', JSON.stringify({
    model: { builtin: 'mlp', num_labels: 2 },
    data: { train: '../data/train.jsonl' },
    training: { output_dir: 'out', learning_rat: 0.001 },
  }, null, 2) + '\n');
}
