// Writes the fill-mask example's data: short factual sentences from a small world (`text`) where
// a masked word can be recovered from the rest of the sentence (each animal has its own food and
// home), plus test sentences with [MASK] for predict to fill.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../rng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

const WORLD = [
  ['cat', 'fish', 'house'], ['dog', 'meat', 'garden'], ['cow', 'grass', 'field'], ['bird', 'seeds', 'tree'],
  ['bee', 'honey', 'hive'], ['fox', 'eggs', 'forest'], ['frog', 'flies', 'pond'], ['horse', 'hay', 'stable'],
];
const TEMPLATES = [
  (a, f, h) => `the ${a} eats ${f} and lives in the ${h} .`,
  (a, f, h) => `in the ${h} , the ${a} looks for ${f} .`,
  (a, f) => `every morning the ${a} wants ${f} .`,
  (a, _f, h) => `the ${a} sleeps in the ${h} at night .`,
];

function write(file, n, seed) {
  const r = rng(seed);
  const lines = Array.from({ length: n }, () => JSON.stringify({ text: r.pick(TEMPLATES)(...r.pick(WORLD)) }));
  writeFileSync(join(dataDir, file), lines.join('\n') + '\n');
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.jsonl')) && existsSync(join(dataDir, 'eval.jsonl'))) return;
  mkdirSync(dataDir, { recursive: true });
  write('train.jsonl', 1000, 31);
  write('eval.jsonl', 200, 32);
  const cloze = ['the cow eats [MASK] and lives in the field .', 'the frog sleeps in the [MASK] at night .'];
  writeFileSync(join(dataDir, 'cloze.jsonl'), cloze.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  console.log(`wrote ${join(dataDir, 'train.jsonl')} (1000 sentences), eval.jsonl (200) and cloze.jsonl`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
