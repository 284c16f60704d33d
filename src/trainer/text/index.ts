// The text side of the data pipeline: Hugging Face tokenizers (tokenizer.json) for encoding,
// truncation and padding as Hugging Face does them, and a WordPiece trainer for models trained
// from scratch. Nothing here reads the config file; the data layer decides what to call.

export { loadTokenizer, tokenizerFromJson, TextTokenizer } from './tokenizer';
export type { EncodeOptions, SpecialTokenName, TextEncoding } from './tokenizer';
export { longestFirst } from './truncate';
export { padBatch, paddedLength, batchTensors } from './padding';
export type { PadOptions, PaddableEncoding, PaddedBatch } from './padding';
export { trainWordPiece, wordPieceJson, WORDPIECE_SPECIAL_TOKENS } from './wordpiece';
export type { WordPieceTrainOptions } from './wordpiece';
export type { TokenizerJson, TokenizerModelType } from './tokenizerJson';
