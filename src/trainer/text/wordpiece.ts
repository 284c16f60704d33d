// Trains a WordPiece vocabulary from raw text for models trained from scratch, the way Hugging
// Face's WordPieceTrainer does it (models/wordpiece/trainer.rs): it runs the BPE trainer with the
// "##" continuing-subword prefix and keeps the resulting vocabulary (merges are not part of a
// WordPiece model; encoding is greedy longest-match over the vocabulary). The output is a
// complete tokenizer.json in the shape BertWordPieceTokenizer writes.
//
// Text is normalized and pre-tokenized by @huggingface/tokenizers' own BertNormalizer and
// BertPreTokenizer, so training sees exactly the words that encoding will later see.
//
// Ids: the special tokens first, in the given order ([PAD] = 0); then the alphabet sorted by code
// point, as Rust sorts it; then the "##" forms of characters seen inside words, also sorted by
// code point (Rust adds them in hash-map order, which is not reproducible); then merged tokens in
// the order they were learned. Nothing depends on the order of the texts except through counts.

import { lib } from './library';
import { learnMerges } from './bpeMerges';
import { AddedTokenJson, TokenizerJson } from './tokenizerJson';

export interface WordPieceTrainOptions {
  /** Tokens in the vocabulary, special tokens and alphabet included (default 30000). */
  vocabSize?: number;
  /** Pairs seen fewer times than this are not merged (default 2, as BertWordPieceTokenizer). */
  minFrequency?: number;
  /** Lowercase and strip accents (default true, as bert-base-uncased). */
  lowercase?: boolean;
  /** Keep only this many of the most frequent characters (default: all). */
  limitAlphabet?: number;
}

const PREFIX = '##';
/** BERT's special tokens, with the ids a from-scratch model gets: [PAD] = 0 … [MASK] = 4. */
export const WORDPIECE_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const byCodePoint = (x: string, y: string) => x.codePointAt(0)! - y.codePointAt(0)!;

/** Counts the pre-tokenized words of the texts, in first-seen order. */
function countWords(texts: Iterable<string>, lowercase: boolean): Map<string, number> {
  const normalize = new lib.BertNormalizer({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase });
  const preTokenize = new lib.BertPreTokenizer();
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of preTokenize(normalize(text))) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** The characters kept as the initial alphabet, sorted by code point. */
function alphabetOf(counts: Map<string, number>, limit: number | undefined): string[] {
  const chars = new Map<string, number>();
  for (const [word, count] of counts) for (const ch of word) chars.set(ch, (chars.get(ch) ?? 0) + count);
  let kept = [...chars.keys()];
  if (limit !== undefined && kept.length > limit) {
    // Keep the most frequent characters (on equal counts, the smaller code point).
    kept.sort((x, y) => chars.get(y)! - chars.get(x)! || byCodePoint(x, y));
    kept = kept.slice(0, limit);
  }
  return kept.sort(byCodePoint);
}

/** Trains a WordPiece tokenizer on the texts and returns its tokenizer.json. */
export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainOptions = {}): TokenizerJson {
  const lowercase = options.lowercase ?? true;
  const counts = countWords(texts, lowercase);

  const vocab: string[] = [...WORDPIECE_SPECIAL_TOKENS];
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const addToken = (token: string) => {
    if (!ids.has(token)) {
      ids.set(token, vocab.length);
      vocab.push(token);
    }
  };
  const alphabet = new Set(alphabetOf(counts, options.limitAlphabet));
  for (const ch of alphabet) addToken(ch);
  const inner = new Set<string>();
  for (const word of counts.keys()) {
    for (const ch of [...word].slice(1)) if (alphabet.has(ch)) inner.add(ch);
  }
  for (const ch of [...inner].sort(byCodePoint)) addToken(PREFIX + ch);

  // Characters outside a limited alphabet are left out of the word, as in Rust.
  const words = [...counts].map(([word, count]) => ({
    symbols: [...word].flatMap((ch, i) => (alphabet.has(ch) ? [ids.get(i === 0 ? ch : PREFIX + ch)!] : [])),
    count,
  }));
  learnMerges(words, vocab, { vocabSize: options.vocabSize ?? 30000, minFrequency: options.minFrequency ?? 2, continuingPrefix: PREFIX });
  return wordPieceJson(vocab, lowercase);
}

/** The tokenizer.json of a BERT-style WordPiece tokenizer; `vocab` starts with the special tokens. */
export function wordPieceJson(vocab: readonly string[], lowercase: boolean): TokenizerJson {
  // A null-prototype object, so that a token named "__proto__" is an ordinary key.
  const vocabObject = Object.create(null) as Record<string, number>;
  vocab.forEach((token, id) => (vocabObject[token] = id));
  const added: AddedTokenJson[] = WORDPIECE_SPECIAL_TOKENS.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const [cls, sep] = ['[CLS]', '[SEP]'].map((content) => ({ id: content, ids: [WORDPIECE_SPECIAL_TOKENS.indexOf(content as '[CLS]')], tokens: [content] }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    // "[CLS] $A [SEP]" and "[CLS] $A [SEP] $B:1 [SEP]:1", as BertWordPieceTokenizer writes them.
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls.id, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep.id, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls.id, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep.id, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep.id, type_id: 1 } },
      ],
      special_tokens: { [cls.id]: cls, [sep.id]: sep },
    },
    decoder: { type: 'WordPiece', prefix: PREFIX, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: PREFIX,
      max_input_chars_per_word: 100,
      vocab: vocabObject,
    },
  };
}
