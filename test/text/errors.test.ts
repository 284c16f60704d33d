// A tokenizer file the user got wrong is a UserError naming the file and what is wrong with it
// (the key, or the line of a JSON syntax error), never a TypeError from inside the library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, readJson, tempDir } from '../helpers';
import { loadTokenizer } from '../../src/trainer/text';
import { DataError, UserError } from '../../src/trainer/errors';

const WORDPIECE = path.join(FIXTURES, 'tokenizers', 'wordpiece', 'tokenizer.json');

function write(text: string, config?: string): string {
  const dir = tempDir('bad-tokenizer');
  const file = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(file, text);
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), config);
  return file;
}

function rejects(file: string, pattern: RegExp, type: abstract new (...args: never[]) => Error = UserError): void {
  assert.throws(
    () => loadTokenizer(file),
    (e: Error) => {
      assert.ok(e instanceof type, `${e.name}: ${e.message}`);
      assert.ok(e.message.startsWith(file), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const valid = () => readJson(WORDPIECE);

test('a missing file, or a folder without tokenizer.json', () => {
  const dir = tempDir('no-tokenizer');
  rejects(path.join(dir, 'tokenizer.json'), /tokenizer file not found/);
  rejects(path.join(dir, 'nope.json'), /not found/);
  assert.throws(() => loadTokenizer(dir), (e: Error) => e instanceof UserError && e.message.includes(path.join(dir, 'tokenizer.json')));
});

test('an unreadable file', () => {
  // A symbolic link to itself cannot be read, even by root (ELOOP); file permissions could.
  const file = path.join(tempDir('loop-tokenizer'), 'tokenizer.json');
  fs.symlinkSync(file, file);
  rejects(file, /cannot read the tokenizer file/);
});

test('not JSON: a DataError with the line of the syntax error', () => {
  const file = write('{\n  "model": {\n    "type": "WordPiece",\n  }\n}\n');
  rejects(file, /not valid JSON/, DataError);
  assert.throws(() => loadTokenizer(file), (e: DataError) => e.line === 4);
  rejects(write(''), /not valid JSON/, DataError);
});

test('JSON that is not a tokenizer: not an object, no model, a bad vocabulary or merges', () => {
  rejects(write('[1, 2]'), /must be a JSON object/);
  rejects(write('{"version": "1.0"}'), /model: missing/);
  rejects(write(JSON.stringify({ model: { type: 'WordLevel', vocab: {} } })), /model\.type: unsupported model "WordLevel"/);
  rejects(write(JSON.stringify({ model: { type: 'WordPiece', vocab: ['a'] } })), /model\.vocab/);
  rejects(write(JSON.stringify({ model: { type: 'WordPiece', vocab: { a: -1 } } })), /model\.vocab: the id of "a"/);
  rejects(write(JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 } } })), /model\.merges/);
  rejects(write(JSON.stringify({ model: { type: 'Unigram', vocab: [['a', 'x']] } })), /model\.vocab\[0\]: expected \[piece, score\]/);
  rejects(write(JSON.stringify({ ...valid(), added_tokens: [{ id: 'x', content: '[PAD]' }] })), /added_tokens\[0\]/);
});

test('a post-processor Trainer cannot apply', () => {
  const json = valid();
  rejects(write(JSON.stringify({ ...json, post_processor: { type: 'Magic' } })), /post_processor\.type: unsupported post-processor "Magic"/);
  const template = json.post_processor as Record<string, unknown>;
  rejects(write(JSON.stringify({ ...json, post_processor: { ...template, special_tokens: {} } })), /special_tokens: no entry for "\[CLS\]"/);
  rejects(write(JSON.stringify({ ...json, post_processor: { type: 'BertProcessing' } })), /needs "sep" and "cls"/);
  rejects(write(JSON.stringify({ ...json, post_processor: { type: 'Sequence', processors: [{ type: 'Nope' }] } })), /post_processor\.processors\[0\]\.type/);
});

test('a section the library does not know is reported with the library\'s words', () => {
  rejects(write(JSON.stringify({ ...valid(), normalizer: { type: 'Fancy' } })), /cannot load this tokenizer: Unknown Normalizer type: Fancy/);
});

test('an invalid tokenizer_config.json beside it names that file', () => {
  const file = write(JSON.stringify(valid()), '{ "pad_token": ');
  const config = path.join(path.dirname(file), 'tokenizer_config.json');
  assert.throws(() => loadTokenizer(file), (e: Error) => e instanceof DataError && e.message.startsWith(config) && /tokenizer config is not valid JSON/.test(e.message));
});

test('a minimal hand-written tokenizer.json gets the Rust defaults for what it leaves out', () => {
  const tok = loadTokenizer(write(JSON.stringify({ model: { type: 'WordPiece', vocab: { '[UNK]': 0, hi: 1, '##s': 2 } } })));
  // "##" as the continuing prefix; no pre-tokenizer, so the whole text is one word.
  assert.deepEqual(tok.encode('his').input_ids, [1, 2]);
  assert.deepEqual(tok.encode('his hi').input_ids, [0]);
  // No "type": inferred as WordPiece from the vocabulary's shape, as the Rust deserializer does.
  assert.equal(loadTokenizer(write(JSON.stringify({ model: { vocab: { '[UNK]': 0, a: 1 } } }))).modelType, 'WordPiece');
});
