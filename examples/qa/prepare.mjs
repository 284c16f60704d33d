// Writes the question-answering example's data, SQuAD-shaped (`question`, `context`, `answers`
// with character offsets): contexts of two people, each with a city, a job and a pet;
// questions ask for one fact of one person, so the model must find the right person first.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../rng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

const NAMES = ['anna', 'ben', 'clara', 'david', 'emma', 'felix', 'grace', 'hugo'];
const CITIES = ['paris', 'rome', 'oslo', 'lima', 'kyoto', 'lagos', 'new york', 'cape town'];
const JOBS = ['a baker', 'a pilot', 'a nurse', 'a teacher', 'an engineer', 'a farmer'];
const PETS = ['a cat', 'a dog', 'a parrot', 'two fish', 'a rabbit'];
const QUESTIONS = [['city', (n) => `where does ${n} live ?`], ['job', (n) => `what is ${n} 's job ?`], ['pet', (n) => `which pet does ${n} have ?`]];

function distinct(r, list, k) {
  const out = [];
  while (out.length < k) {
    const x = r.pick(list);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

function example(r) {
  const k = 2;
  const people = distinct(r, NAMES, k).map((name) => ({ name, city: r.pick(CITIES), job: r.pick(JOBS), pet: r.pick(PETS) }));
  let context = '';
  const at = {};
  for (const p of people) {
    const parts = [`${p.name} lives in `, ['city', p.city], ' and works as ', ['job', p.job], ' . ', `${p.name} has `, ['pet', p.pet], ' . '];
    for (const part of parts) {
      if (typeof part === 'string') context += part;
      else {
        at[`${p.name}/${part[0]}`] = context.length;
        context += part[1];
      }
    }
  }
  const who = r.pick(people);
  const [fact, ask] = r.pick(QUESTIONS);
  return { question: ask(who.name), context: context.trim(), answers: { text: [who[fact]], answer_start: [at[`${who.name}/${fact}`]] } };
}

function write(file, n, seed) {
  const r = rng(seed);
  writeFileSync(join(dataDir, file), Array.from({ length: n }, () => JSON.stringify(example(r))).join('\n') + '\n');
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.jsonl')) && existsSync(join(dataDir, 'eval.jsonl'))) return;
  mkdirSync(dataDir, { recursive: true });
  write('train.jsonl', 1000, 41);
  write('eval.jsonl', 200, 42);
  console.log(`wrote ${join(dataDir, 'train.jsonl')} (1000 questions) and eval.jsonl (200)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
