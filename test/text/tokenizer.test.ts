// Loading tokenizer.json files and encoding with them: single texts and pairs, token type ids as
// BERT (and RoBERTa, and T5's template) give them, special token ids and the pad id, and the
// three model types @huggingface/tokenizers runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, readJson, tempDir } from '../helpers';
import { loadTokenizer } from '../../src/trainer/text';
import { lib } from '../../src/trainer/text/library';

const TOKENIZERS = path.join(FIXTURES, 'tokenizers');
const WORDPIECE = path.join(TOKENIZERS, 'wordpiece', 'tokenizer.json');

/** Writes a tokenizer.json (and optionally a tokenizer_config.json) into a fresh folder. */
function writeTokenizer(json: unknown, config?: unknown): string {
  const dir = tempDir('tokenizer');
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return path.join(dir, 'tokenizer.json');
}

test('WordPiece: [CLS] text [SEP], and [CLS] a [SEP] b [SEP] with type ids 0… then 1…', () => {
  const tok = loadTokenizer(WORDPIECE);
  assert.equal(tok.modelType, 'WordPiece');
  const id = (t: string) => tok.tokenToId(t)!;
  const single = tok.encode('The dog sat.');
  assert.deepEqual(single.tokens, ['[CLS]', 'the', 'dog', 'sat', '.', '[SEP]']);
  assert.deepEqual(single.input_ids, single.tokens.map(id));
  assert.deepEqual(single.token_type_ids, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(single.attention_mask, [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(single.special_tokens_mask, [1, 0, 0, 0, 0, 1]);

  const pair = tok.encode('The dog sat.', 'A cat!');
  assert.deepEqual(pair.tokens, ['[CLS]', 'the', 'dog', 'sat', '.', '[SEP]', 'a', 'cat', '!', '[SEP]']);
  assert.deepEqual(pair.token_type_ids, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(pair.special_tokens_mask, [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(tok.numSpecialTokens(false), 2);
  assert.equal(tok.numSpecialTokens(true), 3);

  const bare = tok.encode('The dog sat.', 'A cat!', { addSpecialTokens: false });
  assert.deepEqual(bare.tokens, ['the', 'dog', 'sat', '.', 'a', 'cat', '!']);
  assert.deepEqual(bare.token_type_ids, [0, 0, 0, 0, 1, 1, 1]);
});

test('ids and type ids equal the library\'s own encode for the TemplateProcessing post-processor', () => {
  const json = readJson(WORDPIECE);
  const inner = new lib.Tokenizer(json, {});
  const tok = loadTokenizer(WORDPIECE);
  for (const [a, b] of [['The cat chased the dog.', undefined], ['Is the cat hungry?', 'The garden is green; unbelievably.'], ['', 'cats']] as const) {
    const ref = inner.encode(a, { text_pair: b ?? null, return_token_type_ids: true });
    const ours = tok.encode(a, b);
    assert.deepEqual(ours.input_ids, ref.ids, a);
    assert.deepEqual(ours.token_type_ids, ref.token_type_ids, a);
  }
});

test('BertProcessing gives the same encoding as the equivalent template', () => {
  const json = readJson(WORDPIECE);
  const tok = loadTokenizer(WORDPIECE);
  const bert = loadTokenizer(writeTokenizer({ ...json, post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } }));
  for (const maxLength of [undefined, 7]) {
    assert.deepEqual(bert.encode('The cat chased the dog.', 'A bird sang.', { maxLength }), tok.encode('The cat chased the dog.', 'A bird sang.', { maxLength }));
    assert.deepEqual(bert.encode('The cat sat.', undefined, { maxLength }), tok.encode('The cat sat.', undefined, { maxLength }));
  }
  assert.equal(bert.numSpecialTokens(true), 3);
});

test('no post-processor: no special tokens, type ids 0 for the text and 1 for its pair', () => {
  const tok = loadTokenizer(writeTokenizer({ ...readJson(WORDPIECE), post_processor: null }));
  const enc = tok.encode('the cat', 'the dog');
  assert.deepEqual(enc.tokens, ['the', 'cat', 'the', 'dog']);
  assert.deepEqual(enc.token_type_ids, [0, 0, 1, 1]);
  assert.equal(tok.numSpecialTokens(true), 0);
});

test('BPE (byte-level, RobertaProcessing): <s> a </s></s> b </s>, every type id 0', () => {
  const tok = loadTokenizer(path.join(TOKENIZERS, 'bpe'));
  assert.equal(tok.modelType, 'BPE');
  assert.deepEqual(tok.encode('hello world').input_ids, [0, 17, 22, 2]);
  const pair = tok.encode('hello', 'lower world');
  assert.deepEqual(pair.tokens, ['<s>', 'hello', '</s>', '</s>', 'lower', 'Ġworld', '</s>']);
  assert.deepEqual(pair.token_type_ids, [0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(tok.encode('low lower').tokens, ['<s>', 'low', 'Ġlower', '</s>']);
  assert.equal(tok.numSpecialTokens(true), 4);
  // tokenizer_config.json names the special tokens.
  assert.deepEqual(tok.specialTokenIds, { pad: 1, unk: 3, cls: 0, sep: 2, bos: 0, eos: 2 });
  assert.equal(tok.padTokenId, 1);
  assert.equal(tok.vocabSize, 28);
});

test('a ByteLevel post-processor keeps the pair (the library alone drops it): types 0 then 1', () => {
  const json = readJson(path.join(TOKENIZERS, 'bpe', 'tokenizer.json'));
  const file = writeTokenizer({ ...json, post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } });
  const enc = loadTokenizer(file).encode('hello', 'lower world');
  assert.deepEqual(enc.tokens, ['hello', 'lower', 'Ġworld']);
  assert.deepEqual(enc.token_type_ids, [0, 1, 1]);
  assert.deepEqual(new lib.Tokenizer(readJson(file), {}).encode('hello', { text_pair: 'lower world' }).tokens, ['hello']);
});

test('Unigram (Metaspace, T5-style template "$A </s>"): best-scoring pieces, unknown text fused to <unk>', () => {
  const tok = loadTokenizer(path.join(TOKENIZERS, 'unigram'));
  assert.equal(tok.modelType, 'Unigram');
  const enc = tok.encode('the cats sat');
  assert.deepEqual(enc.tokens, ['▁the', '▁cat', 's', '▁sat', '</s>']);
  assert.deepEqual(enc.input_ids, [4, 5, 8, 9, 1]);
  const pair = tok.encode('the cat', 'xx sat');
  assert.deepEqual(pair.input_ids, [4, 5, 1, 3, 2, 9, 1]);
  assert.deepEqual(pair.token_type_ids, [0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(tok.specialTokenIds, { pad: 0, unk: 2, eos: 1 });
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.numSpecialTokens(false), 1);
});

test('pad id: tokenizer_config.json pad_token, then tokenizer.json padding.pad_id, then [PAD]/<pad>, else 0', () => {
  const json = readJson(WORDPIECE);
  assert.equal(loadTokenizer(writeTokenizer(json, { pad_token: { content: '[MASK]' } })).padTokenId, 4);
  assert.equal(loadTokenizer(writeTokenizer({ ...json, padding: { pad_id: 3, pad_token: '[SEP]' } })).padTokenId, 3);
  assert.equal(loadTokenizer(writeTokenizer(json)).padTokenId, 0);
  // No pad token anywhere: 0 is the fallback.
  const model = json.model as { vocab: Record<string, number> };
  const vocab = Object.fromEntries(Object.entries(model.vocab).filter(([t]) => t !== '[PAD]'));
  const noPad = { ...json, added_tokens: [], post_processor: null, model: { ...model, vocab } };
  const tok = loadTokenizer(writeTokenizer(noPad));
  assert.equal(tok.specialTokenIds.pad, undefined);
  assert.equal(tok.padTokenId, 0);
});

test('a folder holding tokenizer.json loads like the file', () => {
  const dir = path.dirname(WORDPIECE);
  assert.deepEqual(loadTokenizer(dir).encode('the cat'), loadTokenizer(WORDPIECE).encode('the cat'));
});
