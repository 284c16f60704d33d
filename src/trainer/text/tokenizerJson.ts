// The parts of Hugging Face's tokenizer.json that Trainer reads or writes. The format is the
// serde serialization of the Rust `tokenizers` crate; only the fields used here are typed, the
// rest pass through untouched to @huggingface/tokenizers.

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** One piece of a TemplateProcessing template: a special token or one of the two sequences. */
export type TemplatePiece =
  | { SpecialToken: { id: string; type_id: number } }
  | { Sequence: { id: 'A' | 'B'; type_id: number } };

export interface TemplateSpecialToken {
  id: string;
  ids: number[];
  tokens: string[];
}

export type PostProcessorJson =
  | {
      type: 'TemplateProcessing';
      single: TemplatePiece[];
      pair: TemplatePiece[];
      special_tokens: Record<string, TemplateSpecialToken>;
    }
  | { type: 'BertProcessing'; sep: [string, number]; cls: [string, number] }
  | { type: 'RobertaProcessing'; sep: [string, number]; cls: [string, number]; trim_offsets?: boolean; add_prefix_space?: boolean }
  | { type: 'ByteLevel'; add_prefix_space?: boolean; trim_offsets?: boolean; use_regex?: boolean }
  | { type: 'Sequence'; processors: PostProcessorJson[] };

export interface PaddingJson {
  pad_id?: number;
  pad_token?: string;
  pad_type_id?: number;
  [key: string]: unknown;
}

export type TokenizerModelType = 'WordPiece' | 'BPE' | 'Unigram';

export interface TokenizerJson {
  version?: string;
  truncation: unknown;
  padding: PaddingJson | null;
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: PostProcessorJson | null;
  decoder: Record<string, unknown> | null;
  model: Record<string, unknown> & { type?: string };
}

/** The model type, inferred from the vocabulary's shape when "type" is missing (older files). */
export function modelTypeOf(model: Record<string, unknown>): TokenizerModelType {
  if (model.type === 'WordPiece' || model.type === 'BPE' || model.type === 'Unigram') return model.type;
  if (Array.isArray(model.vocab)) return 'Unigram';
  return 'merges' in model ? 'BPE' : 'WordPiece';
}
