// Writes the causal-LM example's data: short stories from a small grammar (`text`), where what
// comes next is predictable from what came before (a character's name returns, "because" is
// followed by a reason that fits the verb), so perplexity falls far below the vocabulary's size.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../rng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

const NAMES = ['anna', 'ben', 'clara', 'david', 'emma', 'felix'];
const ANIMALS = ['cat', 'dog', 'fox', 'owl', 'rabbit'];
const ACTIONS = [
  ['was hungry', 'ate some bread'],
  ['was tired', 'went to sleep'],
  ['was cold', 'made a fire'],
  ['was bored', 'read a book'],
  ['was lost', 'asked for the way'],
];
const PLACES = ['in the forest', 'by the river', 'at the farm', 'in the old house'];

function story(r) {
  const name = r.pick(NAMES);
  const animal = r.pick(ANIMALS);
  const [feeling, action] = r.pick(ACTIONS);
  const place = r.pick(PLACES);
  return { text: `${name} lived ${place} with a ${animal} . one day ${name} ${feeling} , so ${name} ${action} . the ${animal} ${feeling} too .` };
}

function write(file, n, seed) {
  const r = rng(seed);
  writeFileSync(join(dataDir, file), Array.from({ length: n }, () => JSON.stringify(story(r))).join('\n') + '\n');
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.jsonl')) && existsSync(join(dataDir, 'eval.jsonl'))) return;
  mkdirSync(dataDir, { recursive: true });
  write('train.jsonl', 800, 21);
  write('eval.jsonl', 100, 22);
  writeFileSync(join(dataDir, 'prompts.jsonl'), ['emma lived by the river with a', 'one day ben was tired , so'].map((text) => JSON.stringify({ text })).join('\n') + '\n');
  console.log(`wrote ${join(dataDir, 'train.jsonl')} (800 stories), eval.jsonl (100) and prompts.jsonl`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
