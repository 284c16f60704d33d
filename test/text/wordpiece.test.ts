// The WordPiece trainer: deterministic output (the committed fixture is its output for the
// committed corpus), frequent words whole, rare words in ##pieces, a tokenizer.json that
// @huggingface/tokenizers loads as is, merges equal to a plain re-counting BPE, and speed.
// After an intended change to the trainer, regenerate with UPDATE_FIXTURES=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, tempDir } from '../helpers';
import { loadTokenizer, trainWordPiece } from '../../src/trainer/text';
import { CountedWord, learnMerges } from '../../src/trainer/text/bpeMerges';
import { lib } from '../../src/trainer/text/library';

const DIR = path.join(FIXTURES, 'tokenizers', 'wordpiece');
const CORPUS = fs.readFileSync(path.join(DIR, 'corpus.txt'), 'utf8').split('\n').filter(Boolean);
const OPTIONS = { vocabSize: 100, minFrequency: 2, lowercase: true };

function vocabById(json: { model: Record<string, unknown> }): string[] {
  const out: string[] = [];
  for (const [token, id] of Object.entries(json.model.vocab as Record<string, number>)) out[id] = token;
  return out;
}

test('the committed fixture is what the trainer writes for the committed corpus', () => {
  const text = JSON.stringify(trainWordPiece(CORPUS, OPTIONS), null, 2) + '\n';
  const file = path.join(DIR, 'tokenizer.json');
  if (process.env.UPDATE_FIXTURES) fs.writeFileSync(file, text);
  assert.equal(text, fs.readFileSync(file, 'utf8'));
});

test('training is deterministic and does not depend on the order of the texts', () => {
  const a = JSON.stringify(trainWordPiece(CORPUS, OPTIONS));
  assert.equal(JSON.stringify(trainWordPiece(CORPUS, OPTIONS)), a);
  assert.equal(JSON.stringify(trainWordPiece([...CORPUS].reverse(), OPTIONS)), a);
  // Any iterable will do, a generator included.
  assert.equal(JSON.stringify(trainWordPiece((function* () { yield* CORPUS; })(), OPTIONS)), a);
});

test('ids: specials 0-4, then the alphabet by code point, then ## characters, then merges', () => {
  const vocab = vocabById(trainWordPiece(CORPUS, OPTIONS));
  assert.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  const firstHash = vocab.findIndex((t) => t.startsWith('##'));
  const alphabet = vocab.slice(5, firstHash);
  assert.ok(alphabet.every((t) => [...t].length === 1));
  assert.deepEqual(alphabet, [...alphabet].sort());
  assert.ok(alphabet.includes('.') && alphabet.includes("'") && alphabet.includes('e'));
  // Accents stripped and lowercased: "Café" contributes "e", never "é" or "C".
  assert.ok(!alphabet.includes('é') && !alphabet.includes('C'));
  assert.equal(vocab.length, 100, 'the cap, reached before the pairs run out');
  assert.equal(new Set(vocab).size, vocab.length, 'no token twice');
});

test('the library loads the trained tokenizer: frequent words are one token, rare words ##pieces', () => {
  const dir = tempDir('wordpiece');
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(trainWordPiece(CORPUS, OPTIONS)));
  const tok = loadTokenizer(path.join(dir, 'tokenizer.json'));
  const enc = tok.encode('The cat sat on the mat.');
  assert.deepEqual(enc.tokens, ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'mat', '.', '[SEP]']);
  const rare = tok.encode('unbelievably', undefined, { addSpecialTokens: false }).tokens;
  assert.ok(rare.length > 1, rare.join(' '));
  assert.ok(!rare[0].startsWith('##') && rare.slice(1).every((t) => t.startsWith('##')), rare.join(' '));
  assert.ok(!rare.includes('[UNK]'));
  // A character never seen in training is unknown.
  assert.deepEqual(tok.encode('cat ∆', undefined, { addSpecialTokens: false }).tokens, ['cat', '[UNK]']);
  assert.deepEqual(tok.specialTokenIds, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.vocabSize, 100);
});

test('lowercase: false keeps case and accents', () => {
  const vocab = vocabById(trainWordPiece(['Café Café Café', 'café'], { vocabSize: 100, minFrequency: 1, lowercase: false }));
  assert.ok(vocab.includes('Café') && vocab.includes('C') && vocab.includes('##é'));
  const lower = vocabById(trainWordPiece(['Café Café Café', 'café'], { vocabSize: 100, minFrequency: 1 }));
  assert.ok(lower.includes('cafe') && !lower.includes('C') && !lower.some((t) => t.includes('é')));
});

test('minFrequency stops merging; vocabSize caps the vocabulary; limitAlphabet drops rare characters', () => {
  const texts = ['aaa bbb', 'aaa', 'xyz'];
  const strict = vocabById(trainWordPiece(texts, { vocabSize: 100, minFrequency: 3 }));
  assert.ok(strict.includes('##a') && !strict.includes('aa'), 'pairs seen twice are not merged at minFrequency 3');
  const loose = vocabById(trainWordPiece(texts, { vocabSize: 100, minFrequency: 1 }));
  assert.ok(loose.includes('aaa') && loose.includes('xyz'));
  assert.equal(vocabById(trainWordPiece(texts, { vocabSize: 16, minFrequency: 1 })).length, 16);
  const limited = vocabById(trainWordPiece(texts, { vocabSize: 100, minFrequency: 1, limitAlphabet: 2 }));
  assert.deepEqual(limited.slice(5, 7), ['a', 'b']);
  assert.ok(!limited.includes('x') && !limited.includes('##y'));
});

/** Plain BPE: recount every pair after every merge; best = highest count, then smallest ids. */
function referenceMerges(words: CountedWord[], vocab: string[], vocabSize: number, minFrequency: number): [number, number][] {
  const merges: [number, number][] = [];
  while (vocab.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.symbols.length; i++) {
      const k = `${w.symbols[i]},${w.symbols[i + 1]}`;
      counts.set(k, (counts.get(k) ?? 0) + w.count);
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) [best, bestCount] = [[a, b], c];
    }
    if (!best || bestCount < minFrequency) break;
    const [a, b] = best;
    const token = vocab[a] + vocab[b].replace(/^##/, '');
    let id = vocab.indexOf(token);
    if (id < 0) id = vocab.push(token) - 1;
    merges.push(best);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return merges;
}

test('merges equal a plain re-counting BPE on random words (repeats like "aaaa" and "abab" included)', () => {
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let trial = 0; trial < 20; trial++) {
    const letters = ['a', 'b', 'c', 'd'].slice(0, 2 + (trial % 3));
    const base = [...letters, ...letters.map((l) => `##${l}`)];
    const idOf = (ch: string, first: boolean) => base.indexOf(first ? ch : `##${ch}`);
    const words: CountedWord[] = Array.from({ length: 15 }, () => {
      const len = 1 + rand(7);
      return { symbols: Array.from({ length: len }, (_, i) => idOf(letters[rand(letters.length)], i === 0)), count: 1 + rand(4) };
    });
    const copy = () => words.map((w) => ({ symbols: [...w.symbols], count: w.count }));
    const fastVocab = [...base];
    const slowVocab = [...base];
    const fast = learnMerges(copy(), fastVocab, { vocabSize: 60, minFrequency: 1, continuingPrefix: '##' });
    const slow = referenceMerges(copy(), slowVocab, 60, 1);
    assert.deepEqual(fast, slow, `trial ${trial}`);
    assert.deepEqual(fastVocab, slowVocab, `trial ${trial}`);
  }
});

test('normalization and pre-tokenization are the library\'s own, so training and encoding agree', () => {
  const normalize = new lib.BertNormalizer({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true });
  assert.equal(normalize('Héllo\tWORLD'), 'hello world');
  assert.deepEqual(new lib.BertPreTokenizer()("it's 3.5, ok"), ['it', "'", 's', '3', '.', '5', ',', 'ok']);
});

test('a few thousand short sentences train in well under two seconds', () => {
  const words = ['model', 'train', 'token', 'data', 'loss', 'step', 'epoch', 'batch', 'learning', 'rate', 'the', 'a', 'of'];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const texts = Array.from({ length: 5000 }, (_, i) => Array.from({ length: 8 }, () => words[rand(words.length)]).join(' ') + ` item${i}.`);
  const t0 = performance.now();
  const json = trainWordPiece(texts, { vocabSize: 2000 });
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  assert.ok(vocabById(json).includes('learning'));
});
