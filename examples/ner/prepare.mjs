// Writes the NER example's data: sentences built from templates with people, places and
// organisations (CoNLL-2003's `tokens` + `ner_tags`, IOB2 tags as text). Names of one or two
// words, so that the model must learn B- and I- tags; some names are shared between the types
// ("Jordan" the person and the country) so that context decides.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../rng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

const PER = ['Alice Martin', 'Bob', 'Carla Diaz', 'Jordan', 'Mei Chen', 'Omar', 'Priya Nair', 'Tom Baker', 'Lena', 'Victor Hugo'];
const LOC = ['Paris', 'New York', 'Jordan', 'Lagos', 'Buenos Aires', 'Oslo', 'Cape Town', 'Kyoto', 'Lima', 'Rome'];
const ORG = ['Acme Corp', 'the United Nations', 'Globex', 'Red Cross', 'Initech', 'the World Bank', 'Umbrella Labs', 'Stark Industries'];
const TEMPLATES = [
  'PER moved to LOC last year .',
  'PER works for ORG in LOC .',
  'ORG opened an office in LOC .',
  'Yesterday PER met PER at ORG .',
  'The flight from LOC to LOC was late .',
  'PER said that ORG will hire more people .',
  'In LOC , PER visited ORG .',
  'ORG and ORG signed a deal .',
];

function sentence(r) {
  const tokens = [];
  const tags = [];
  for (const slot of r.pick(TEMPLATES).split(' ')) {
    const list = { PER, LOC, ORG }[slot];
    if (!list) {
      tokens.push(slot);
      tags.push('O');
      continue;
    }
    // "the United Nations": the article stays outside the entity, as in CoNLL.
    r.pick(list).split(' ').forEach((word, i, words) => {
      tokens.push(word);
      tags.push(word === 'the' && i === 0 && words.length > 1 ? 'O' : tags.at(-1)?.endsWith(slot) && i > 0 ? `I-${slot}` : `B-${slot}`);
    });
  }
  return { tokens, ner_tags: tags };
}

function write(file, n, seed) {
  const r = rng(seed);
  writeFileSync(join(dataDir, file), Array.from({ length: n }, () => JSON.stringify(sentence(r))).join('\n') + '\n');
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.jsonl')) && existsSync(join(dataDir, 'eval.jsonl'))) return;
  mkdirSync(dataDir, { recursive: true });
  write('train.jsonl', 1200, 11);
  write('eval.jsonl', 300, 12);
  console.log(`wrote ${join(dataDir, 'train.jsonl')} (1200 sentences) and eval.jsonl (300 sentences)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
