// Writes the sentiment example's data: IMDB-shaped movie reviews (`text`, `label` pos/neg),
// generated from templates. A review mixes opinions about parts of a film — some negated
// ("not boring") — with neutral sentences; its label is the side most of its opinions take.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../rng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

const GOOD = ['great', 'wonderful', 'brilliant', 'superb', 'delightful', 'moving', 'funny', 'charming', 'excellent', 'beautiful', 'gripping', 'enjoyable', 'clever', 'touching'];
const BAD = ['terrible', 'awful', 'boring', 'dull', 'painful', 'weak', 'clumsy', 'tedious', 'dreadful', 'mediocre', 'bland', 'forgettable', 'silly', 'lifeless'];
const PARTS = ['film', 'movie', 'plot', 'acting', 'script', 'story', 'soundtrack', 'direction', 'cast', 'ending', 'dialogue', 'pacing', 'photography', 'lead actor'];
const NEUTRAL = [
  'I saw it on a rainy Sunday afternoon.', 'The cinema was almost full.', 'It runs a little over two hours.',
  'My brother recommended it to me.', 'It is based on a novel from the seventies.', 'I watched it with a friend.',
  'The trailer came out last spring.', 'It was shot in three different countries.', 'I had read nothing about it beforehand.',
];
const OPINION = [
  (p, a) => `The ${p} was ${a}.`, (p, a) => `I found the ${p} ${a}.`, (p, a) => `Honestly, the ${p} is ${a}.`,
  (p, a) => `What a ${a} ${p}.`, (p, a) => `Everyone agrees the ${p} was ${a}.`,
];
const NEGATED = [(p, a) => `The ${p} was not ${a}.`, (p, a) => `I would not call the ${p} ${a}.`];

function review(r) {
  const positive = r.next() < 0.5;
  const opinions = 2 + r.int(3);
  // Most opinions agree with the label; one may disagree, as in real reviews.
  const sentences = [];
  let score = 0;
  for (let i = 0; i < opinions; i++) {
    const agree = i === 0 || r.next() < 0.75;
    const good = agree === positive;
    if (r.next() < 0.2) {
      sentences.push(r.pick(NEGATED)(r.pick(PARTS), r.pick(good ? BAD : GOOD)));
    } else {
      sentences.push(r.pick(OPINION)(r.pick(PARTS), r.pick(good ? GOOD : BAD)));
    }
    score += good ? 1 : -1;
  }
  for (let i = r.int(3); i > 0; i--) sentences.splice(r.int(sentences.length + 1), 0, r.pick(NEUTRAL));
  if (score === 0) return review(r);
  return { text: sentences.join(' '), label: score > 0 ? 'pos' : 'neg' };
}

function write(file, n, seed) {
  const r = rng(seed);
  const lines = Array.from({ length: n }, () => JSON.stringify(review(r)));
  writeFileSync(join(dataDir, file), lines.join('\n') + '\n');
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.jsonl')) && existsSync(join(dataDir, 'eval.jsonl'))) return;
  mkdirSync(dataDir, { recursive: true });
  write('train.jsonl', 2000, 1);
  write('eval.jsonl', 500, 2);
  console.log(`wrote ${join(dataDir, 'train.jsonl')} (2000 reviews) and eval.jsonl (500 reviews)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
