// Reads tokenizer.json and the tokenizer_config.json beside it, checking what
// @huggingface/tokenizers would otherwise trip over with a bare TypeError (a missing section,
// a vocabulary of the wrong shape), so that the user gets the file and the key instead.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, UserError, locate } from '../errors';
import { postProcessorProblem } from './postProcess';
import { TokenizerJson, modelTypeOf } from './tokenizerJson';

export interface TokenizerFiles {
  json: TokenizerJson;
  /** tokenizer_config.json, or {} when there is none. */
  config: Record<string, unknown>;
}

/** 1-based line of a JSON.parse error, from its "line L column C" or "position P". */
function lineOfJsonError(text: string, message: string): number | undefined {
  const line = /line (\d+) column/.exec(message);
  if (line) return Number(line[1]);
  const pos = /position (\d+)/.exec(message);
  if (!pos) return undefined;
  return text.slice(0, Number(pos[1])).split('\n').length;
}

function readJsonObject(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: ${what} not found`);
    throw new UserError(`${file}: cannot read the ${what}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    throw new DataError(file, lineOfJsonError(text, message), `the ${what} is not valid JSON: ${message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`${file}: the ${what} must be a JSON object`);
  return doc as Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** What is wrong with the model section, or undefined. */
function modelProblem(model: Record<string, unknown>): string | undefined {
  const type = model.type;
  const vocab = model.vocab;
  if (type !== undefined && type !== 'WordPiece' && type !== 'BPE' && type !== 'Unigram') {
    return `model.type: unsupported model "${String(type)}"; @huggingface/tokenizers runs WordPiece, BPE and Unigram`;
  }
  if (type === 'Unigram' || Array.isArray(vocab)) {
    if (!Array.isArray(vocab) || vocab.length === 0) return 'model.vocab: a Unigram model needs a non-empty array of [piece, score]';
    const bad = vocab.findIndex((e) => !Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number');
    if (bad >= 0) return `model.vocab[${bad}]: expected [piece, score]`;
    return undefined;
  }
  if (!isObject(vocab)) return 'model.vocab: expected an object mapping tokens to ids';
  const bad = Object.entries(vocab).find(([, id]) => !Number.isInteger(id) || (id as number) < 0);
  if (bad) return `model.vocab: the id of "${bad[0]}" is not a non-negative integer`;
  if ((type === 'BPE' || 'merges' in model) && !Array.isArray(model.merges)) return 'model.merges: a BPE model needs an array of merges';
  return undefined;
}

/**
 * Fills the defaults the Rust deserializer assumes and the library does not: the model type
 * (without it the library guesses differently), WordPiece's settings, the optional sections.
 */
function withDefaults(doc: Record<string, unknown>): TokenizerJson {
  const model = { ...(doc.model as Record<string, unknown>) };
  model.type = modelTypeOf(model);
  if (model.type === 'WordPiece') {
    model.unk_token ??= '[UNK]';
    model.continuing_subword_prefix ??= '##';
    model.max_input_chars_per_word ??= 100;
  }
  return {
    ...doc,
    truncation: doc.truncation ?? null,
    padding: (doc.padding as TokenizerJson['padding']) ?? null,
    added_tokens: (doc.added_tokens as TokenizerJson['added_tokens']) ?? [],
    normalizer: (doc.normalizer as TokenizerJson['normalizer']) ?? null,
    pre_tokenizer: (doc.pre_tokenizer as TokenizerJson['pre_tokenizer']) ?? null,
    post_processor: (doc.post_processor as TokenizerJson['post_processor']) ?? null,
    decoder: (doc.decoder as TokenizerJson['decoder']) ?? null,
    model,
  };
}

/** Reads and checks `file` (a tokenizer.json) and the tokenizer_config.json in its folder. */
export function readTokenizerFiles(file: string): TokenizerFiles {
  const doc = readJsonObject(file, 'tokenizer file');
  const fail = (key: string, detail: string) => new UserError(locate(file, undefined, key, detail));
  if (!isObject(doc.model)) throw fail('model', 'missing; a Hugging Face tokenizer.json has a "model" section');
  const problem = modelProblem(doc.model);
  if (problem) throw new UserError(`${file}: ${problem}`);
  if (doc.added_tokens !== undefined) {
    if (!Array.isArray(doc.added_tokens)) throw fail('added_tokens', 'expected an array');
    const bad = doc.added_tokens.findIndex((t) => !isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id));
    if (bad >= 0) throw fail(`added_tokens[${bad}]`, 'expected {"id": integer, "content": string, ...}');
  }
  const ppProblem = postProcessorProblem(doc.post_processor);
  if (ppProblem) throw new UserError(`${file}: ${ppProblem}`);
  if (doc.padding !== undefined && doc.padding !== null && !isObject(doc.padding)) throw fail('padding', 'expected an object or null');

  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJsonObject(configFile, 'tokenizer config') : {};
  return { json: withDefaults(doc), config };
}
