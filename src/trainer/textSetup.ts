// Decides whether a job's data is text to tokenize, and sets the tokenizer up: a tokenizer.json
// from the config (or a model folder), a WordPiece vocabulary trained on the training text
// (`tokenizer: train`), or — evaluating and predicting — the tokenizer saved beside the model.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrainerConfig } from './config/config';
import { TextSpec, paddingValues, textColumns } from './data/text';
import { PaddingSpec } from './data/dataset';
import { DataRecord } from './data/readers';
import { DataError, UserError } from './errors';
import { TextTokenizer, TokenizerJson, loadTokenizer, tokenizerFromJson, trainWordPiece } from './text';
import { TOKENIZER_FILE } from './runDirectory';

export interface TextSetup {
  spec: TextSpec;
  padding: PaddingSpec;
  /** Files to write beside every saved model (tokenizer.json, tokenizer_config.json). */
  files: Record<string, string>;
}

export { TOKENIZER_FILE };

/** Whether records must be tokenized: the model reads input_ids and the data has no such column. */
export function needsTokenizing(config: TrainerConfig, modelInputs: string[] | undefined, first: DataRecord | undefined): boolean {
  if (config.model.builtin === 'bert') return true;
  return !!modelInputs?.includes('input_ids') && !!first && !('input_ids' in first.values);
}

function filesOf(tokenizerFile: string): Record<string, string> {
  const files: Record<string, string> = { [TOKENIZER_FILE]: fs.readFileSync(tokenizerFile, 'utf8') };
  const cfg = path.join(path.dirname(tokenizerFile), 'tokenizer_config.json');
  if (fs.existsSync(cfg)) files['tokenizer_config.json'] = fs.readFileSync(cfg, 'utf8');
  return files;
}

export function setupText(config: TrainerConfig, records: { train?: Iterable<DataRecord>; file: string; first: DataRecord }, modelDir: string | undefined): TextSetup {
  const { doc } = config;
  const columns = textColumns(config.data.text_columns, records.first, config.model.task);
  if (columns.length === 0 || columns.length > 2) {
    throw columns.length ? doc.error(['data', 'text_columns'], 'name one text column, or two for sentence pairs')
      : new DataError(records.file, records.first.line, `the model reads token ids, but no text column was found (set data.text_columns; looked for ${lookedFor(config.model.task)})`);
  }
  let tokenizer: TextTokenizer;
  let files: Record<string, string>;
  const source = config.model.tokenizer;
  if (!source) throw doc.error(['model'], 'the model reads token ids and the data has text: set model.tokenizer (a tokenizer.json, or "train")');
  if (source !== 'train') {
    if (!fs.existsSync(source)) throw doc.error(['model', 'tokenizer'], `tokenizer file not found: ${source}`);
    tokenizer = loadTokenizer(source);
    files = filesOf(tokenizer.file);
  } else if (records.train) {
    const texts = function* () {
      for (const r of records.train!) {
        for (const c of columns) {
          const v = r.values[c];
          // Token classification's words are a list; the vocabulary learns them one by one.
          if (typeof v === 'string') yield v;
          else if (Array.isArray(v)) yield v.filter((w) => typeof w === 'string').join(' ');
        }
      }
    };
    const json: TokenizerJson = trainWordPiece(texts(), { vocabSize: config.model.vocab_size, lowercase: config.model.lowercase });
    tokenizer = tokenizerFromJson(json, `WordPiece trained on ${config.data.train}`);
    files = { [TOKENIZER_FILE]: JSON.stringify(json) };
  } else {
    const saved = modelDir && path.join(modelDir, TOKENIZER_FILE);
    if (!saved || !fs.existsSync(saved)) throw new UserError(`tokenizer: train — no ${TOKENIZER_FILE} saved beside the trained model${modelDir ? ` in ${modelDir}` : ''}; train first`);
    tokenizer = loadTokenizer(saved);
    files = filesOf(saved);
  }
  const maxLength = config.data.max_length ?? (config.model.builtin === 'bert' ? config.model.max_position_embeddings : 512);
  if (config.model.builtin === 'bert' && maxLength > config.model.max_position_embeddings) {
    throw doc.error(['data', 'max_length'], `is ${maxLength}, more than the model's max_position_embeddings (${config.model.max_position_embeddings})`);
  }
  const spec: TextSpec = { tokenizer, columns, maxLength, padding: config.data.padding, task: config.model.task };
  return { spec, padding: { values: paddingValues(spec), strategy: spec.padding, maxLength }, files };
}

function lookedFor(task: TrainerConfig['model']['task']): string {
  if (task === 'token-classification') return 'tokens or words (a list of words per record)';
  if (task === 'text-generation') return 'text, or prompt + completion';
  if (task === 'question-answering') return 'question + context';
  if (task === 'text-classification') return 'sentence1 + sentence2, text, sentence, review, content';
  return 'text';
}
