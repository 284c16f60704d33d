// A Hugging Face tokenizer (tokenizer.json, and tokenizer_config.json beside it) loaded for
// training: @huggingface/tokenizers normalizes, pre-tokenizes and runs the model on each text;
// Trainer truncates (truncate.ts) and adds the special tokens (postProcess.ts) itself, because
// the library has neither truncation nor a way to truncate before the special tokens go in.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { LibTokenizer, lib } from './library';
import { Processed, Segment, addedTokenCount, postProcess } from './postProcess';
import { readTokenizerFiles } from './tokenizerFiles';
import { PostProcessorJson, TokenizerJson, TokenizerModelType, modelTypeOf } from './tokenizerJson';
import { longestFirst } from './truncate';

/** One encoded text or pair, with Hugging Face's names. */
export interface TextEncoding {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  special_tokens_mask: number[];
  tokens: string[];
}

export interface EncodeOptions {
  /** Truncate to this many tokens in all, special tokens included ('longest_first' for pairs). */
  maxLength?: number;
  /** Add the post-processor's special tokens ([CLS] … [SEP]); default true. */
  addSpecialTokens?: boolean;
}

export type SpecialTokenName = 'pad' | 'unk' | 'cls' | 'sep' | 'mask' | 'bos' | 'eos';

/** Token strings to try for a role when tokenizer_config.json does not name one. */
const CONVENTIONAL: Record<SpecialTokenName, string[]> = {
  pad: ['[PAD]', '<pad>'],
  unk: ['[UNK]', '<unk>'],
  cls: ['[CLS]'],
  sep: ['[SEP]'],
  mask: ['[MASK]', '<mask>'],
  bos: ['<s>'],
  eos: ['</s>'],
};

export class TextTokenizer {
  /** Embedding rows the vocabulary needs: the largest id (added tokens included) plus one. */
  readonly vocabSize: number;
  readonly padTokenId: number;
  readonly specialTokenIds: Partial<Record<SpecialTokenName, number>>;
  readonly modelType: TokenizerModelType;
  private readonly postProcessor: PostProcessorJson | null;

  constructor(
    readonly file: string,
    private readonly inner: LibTokenizer,
    json: TokenizerJson,
    config: Record<string, unknown>,
  ) {
    this.modelType = modelTypeOf(json.model);
    this.postProcessor = json.post_processor;
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const ids: Partial<Record<SpecialTokenName, number>> = {};
    for (const name of Object.keys(CONVENTIONAL) as SpecialTokenName[]) {
      const id = this.configuredId(config[`${name}_token`]) ?? this.conventionalId(name);
      if (id !== undefined) ids[name] = id;
    }
    this.specialTokenIds = ids;
    // DataCollatorWithPadding pads with tokenizer.pad_token_id, which transformers takes from
    // tokenizer_config.json; then tokenizer.json's own padding section; then a [PAD]/<pad> token.
    this.padTokenId = this.configuredId(config.pad_token) ?? json.padding?.pad_id ?? ids.pad ?? 0;
  }

  /** The id of a tokenizer_config.json entry: a token string or an AddedToken {content}. */
  private configuredId(configured: unknown): number | undefined {
    const content = typeof configured === 'string' ? configured : (configured as { content?: unknown } | null)?.content;
    return typeof content === 'string' ? this.inner.token_to_id(content) : undefined;
  }

  private conventionalId(name: SpecialTokenName): number | undefined {
    for (const token of CONVENTIONAL[name]) {
      const id = this.inner.token_to_id(token);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Text of `ids`, special tokens skipped (tokenizer.decode(ids, skip_special_tokens=True)). */
  decode(ids: readonly number[]): string {
    return this.inner.decode([...ids], { skip_special_tokens: true });
  }

  /** How many special tokens the post-processor adds to one text (pair = false) or to a pair. */
  numSpecialTokens(pair: boolean): number {
    return addedTokenCount(this.postProcessor, pair);
  }

  /** Encodes `text` (and `pair`), truncating longest-first when `maxLength` is given. */
  encode(text: string, pair?: string, options: EncodeOptions = {}): TextEncoding {
    const addSpecial = options.addSpecialTokens ?? true;
    let a = this.segment(text);
    let b = pair === undefined ? undefined : this.segment(pair);
    if (options.maxLength !== undefined) {
      if (!Number.isInteger(options.maxLength) || options.maxLength < 0) throw new UserError(`max_length must be a non-negative integer, not ${options.maxLength}`);
      const added = addSpecial ? this.numSpecialTokens(b !== undefined) : 0;
      const budget = options.maxLength - added;
      if (budget < 0) {
        throw new UserError(`${this.file}: max_length ${options.maxLength} leaves no room for text: the tokenizer adds ${added} special tokens`);
      }
      const [keepA, keepB] = longestFirst(a.ids.length, b?.ids.length, budget);
      a = slice(a, keepA);
      b = b && slice(b, keepB);
    }
    return toEncoding(postProcess(this.postProcessor, a, b, addSpecial));
  }

  /** Each word segmented on its own, concatenated, with the word each token came from. */
  private segmentWords(words: readonly string[]): { ids: number[]; tokens: string[]; wordOf: number[] } {
    const ids: number[] = [];
    const tokens: string[] = [];
    const wordOf: number[] = [];
    words.forEach((w, i) => {
      const seg = this.segment(w);
      ids.push(...seg.ids);
      tokens.push(...seg.tokens);
      seg.ids.forEach(() => wordOf.push(i));
    });
    return { ids, tokens, wordOf };
  }

  /**
   * Encodes text already split into words (is_split_into_words in Hugging Face), each word on its
   * own, with `word_ids`: the word each token came from, null for special tokens.
   */
  encodeWords(words: readonly string[], options: EncodeOptions = {}): TextEncoding & { word_ids: (number | null)[] } {
    const addSpecial = options.addSpecialTokens ?? true;
    const { ids, tokens, wordOf } = this.segmentWords(words);
    let keep = ids.length;
    if (options.maxLength !== undefined) keep = Math.max(0, Math.min(keep, options.maxLength - (addSpecial ? this.numSpecialTokens(false) : 0)));
    const processed = postProcess(this.postProcessor, slice({ ids, tokens }, keep), undefined, addSpecial);
    let next = 0;
    const word_ids = processed.specialMask.map((special) => (special ? null : wordOf[next++]));
    return { ...toEncoding(processed), word_ids };
  }

  /**
   * Encodes a question and a context split into words as a pair, truncating only the context
   * (truncation="only_second"), with `word_ids`: the context word of each token, null elsewhere.
   */
  encodeQuestionContext(question: string, contextWords: readonly string[], maxLength: number): TextEncoding & { word_ids: (number | null)[] } {
    const q = this.segment(question);
    const { ids, tokens, wordOf } = this.segmentWords(contextWords);
    const budget = maxLength - this.numSpecialTokens(true) - q.ids.length;
    if (budget < 1) throw new UserError(`max_length ${maxLength} leaves no room for the context after a question of ${q.ids.length} tokens`);
    const processed = postProcess(this.postProcessor, q, slice({ ids, tokens }, budget), true);
    let text = 0;
    const word_ids = processed.specialMask.map((special) => {
      if (special) return null;
      const k = text++;
      return k < q.ids.length ? null : wordOf[k - q.ids.length];
    });
    return { ...toEncoding(processed), word_ids };
  }

  /** The text's tokens before any special token: normalized, pre-tokenized, through the model. */
  private segment(text: string): Segment {
    const enc = this.inner.encode(text, { add_special_tokens: false });
    const ids: number[] = [];
    const tokens: string[] = [];
    enc.ids.forEach((id, i) => {
      // A token with no id can only come from a model without an unknown token; Rust drops it.
      if (id === undefined || id === null) return;
      ids.push(id);
      tokens.push(enc.tokens[i]);
    });
    return { ids, tokens };
  }
}

function slice(s: Segment, n: number): Segment {
  return n >= s.ids.length ? s : { ids: s.ids.slice(0, n), tokens: s.tokens.slice(0, n) };
}

function toEncoding(p: Processed): TextEncoding {
  return {
    input_ids: p.ids,
    attention_mask: p.ids.map(() => 1),
    token_type_ids: p.typeIds,
    special_tokens_mask: p.specialMask,
    tokens: p.tokens,
  };
}

/**
 * Loads a tokenizer.json file, or a folder holding one. A missing, unreadable or invalid file,
 * or a model or post-processor the library cannot run, is a UserError naming the file.
 */
export function loadTokenizer(file: string): TextTokenizer {
  const jsonFile = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'tokenizer.json') : file;
  const { json, config } = readTokenizerFiles(jsonFile);
  let inner: LibTokenizer;
  try {
    inner = new lib.Tokenizer(json, config);
  } catch (e) {
    throw new UserError(`${jsonFile}: @huggingface/tokenizers cannot load this tokenizer: ${(e as Error).message}`);
  }
  return new TextTokenizer(jsonFile, inner, json, config);
}

/** A tokenizer from an in-memory tokenizer.json object (one Trainer trained); `label` names it in errors. */
export function tokenizerFromJson(json: TokenizerJson, label: string): TextTokenizer {
  return new TextTokenizer(label, new lib.Tokenizer(json, {}), json, {});
}
