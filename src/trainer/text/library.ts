// The one place that loads @huggingface/tokenizers. The package is ESM with a CommonJS build
// behind its "require" export condition; Node (tests run through tsx) and esbuild (the bundles)
// both resolve require() to dist/tokenizers.cjs. Its own type declarations are not usable from
// here: they sit in the ESM half, which TypeScript refuses to import from this CommonJS project
// (TS1479), and even in import mode their extensionless relative imports do not resolve under
// Node16 resolution, so Encoding and friends silently become `any`. The surface Trainer uses is
// therefore declared below, checked by the tests against the real library.

/** What Tokenizer.encode returns. */
export interface LibEncoding {
  ids: number[];
  tokens: string[];
  attention_mask: number[];
  token_type_ids?: number[];
}

export interface LibTokenizer {
  encode(text: string, options?: { text_pair?: string | null; add_special_tokens?: boolean; return_token_type_ids?: boolean }): LibEncoding;
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  /** token → id, added tokens included unless told otherwise. */
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

interface Library {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => LibTokenizer;
  /** Normalizers and pre-tokenizers are callable objects. */
  BertNormalizer: new (config: object) => (text: string) => string;
  BertPreTokenizer: new () => (text: string) => string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- see the comment above
export const lib = require('@huggingface/tokenizers') as Library;
