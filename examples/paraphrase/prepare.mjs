// Writes the sentence-pair example's data: MRPC-shaped CSV (`sentence1`, `sentence2`, `label`),
// generated from templates. Both sentences report an event — who did what, where, when — in
// different words (synonyms, word order, passive voice); the label is 1 when they report the same
// event and 0 when three of its four details differ (the sentences still share their verbs,
// their form and one detail).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../rng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

const SUBJECTS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Tyrell', 'Soylent', 'Cyberdyne', 'Massive'];
const OBJECTS = ['a bakery', 'a shipyard', 'a bank', 'a newspaper', 'a football club', 'a vineyard', 'a hotel chain', 'a railway', 'a software firm', 'a brewery', 'a mine', 'an airline'];
const PLACES = ['Paris', 'Lisbon', 'Oslo', 'Cairo', 'Lima', 'Osaka', 'Dublin', 'Nairobi', 'Quebec', 'Seville', 'Krakow', 'Perth'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const BUY = ['bought', 'acquired', 'purchased', 'took over'];
const BOUGHT = ['was bought', 'was acquired', 'was purchased', 'was taken over'];

function say(r, e) {
  const forms = [
    () => `${e.subject} ${r.pick(BUY)} ${e.object} in ${e.place} on ${e.day}.`,
    () => `On ${e.day}, ${e.subject} ${r.pick(BUY)} ${e.object} in ${e.place}.`,
    () => `In ${e.place}, ${e.object} ${r.pick(BOUGHT)} by ${e.subject} on ${e.day}.`,
    () => `${e.object[0].toUpperCase()}${e.object.slice(1)} in ${e.place} ${r.pick(BOUGHT)} by ${e.subject} on ${e.day}.`,
  ];
  return r.pick(forms)();
}

function other(r, list, not) {
  let v;
  do v = r.pick(list);
  while (v === not);
  return v;
}

function pair(r) {
  const e = { subject: r.pick(SUBJECTS), object: r.pick(OBJECTS), place: r.pick(PLACES), day: r.pick(DAYS) };
  const same = r.next() < 0.5;
  const f = { ...e };
  if (!same) {
    // Three of the four details differ: another event, told with the same kinds of words.
    const slots = ['subject', 'object', 'place', 'day'];
    slots.splice(r.int(4), 1);
    for (const slot of slots) f[slot] = other(r, { subject: SUBJECTS, object: OBJECTS, place: PLACES, day: DAYS }[slot], e[slot]);
  }
  return [say(r, e), say(r, f), same ? 1 : 0];
}

const csvCell = (s) => (/[",\n]/.test(String(s)) ? `"${String(s).replace(/"/g, '""')}"` : String(s));

function write(file, n, seed) {
  const r = rng(seed);
  const rows = ['sentence1,sentence2,label', ...Array.from({ length: n }, () => pair(r).map(csvCell).join(','))];
  writeFileSync(join(dataDir, file), rows.join('\n') + '\n');
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train.csv')) && existsSync(join(dataDir, 'eval.csv'))) return;
  mkdirSync(dataDir, { recursive: true });
  write('train.csv', 4000, 11);
  write('eval.csv', 800, 12);
  console.log(`wrote ${join(dataDir, 'train.csv')} (4000 pairs) and eval.csv (800 pairs)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
