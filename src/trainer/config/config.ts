// The trainer config file: `model:`, `data:`, `training:` (TrainingArguments) and `device:`.
// Relative paths resolve against the config file's folder.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { ConfigDocument } from './document';
import { Section, sectionSchema, t, validateSection } from './fields';
import { TRAINING_FIELDS, TrainingArguments, parseTrainingArguments } from './trainingArguments';

import type { ProblemType } from '../programs/lossHeads';
import { BUILTINS } from '../models/names';
import type { BuiltinConfig } from '../models';
import { ALL_METRICS, builtinMetricNames, defaultMetrics } from '../loop/metrics';

export const MODEL_FIELDS: Section = {
  path: { type: t.string, doc: 'The ONNX model file to train (its float initializers are the parameters). Either path or builtin.' },
  builtin: { type: t.enumOf(...BUILTINS), doc: 'A built-in architecture trained from scratch: mlp, cnn, bert. Either path or builtin.' },
  tokenizer: { type: t.string, doc: 'A Hugging Face tokenizer.json (or a folder holding one) for text data, or "train" to train a WordPiece vocabulary on the training text.' },
  vocab_size: { type: t.integer(16), default: 8000, doc: 'tokenizer: train — the vocabulary size to train.' },
  lowercase: { type: t.boolean, default: true, doc: 'tokenizer: train — lowercase and strip accents (BERT uncased).' },
  num_hidden_layers: { type: t.integer(1), default: 2, doc: 'Built-in bert: encoder layers.' },
  hidden_size: { type: t.integer(1), default: 128, doc: 'Built-in bert: hidden size.' },
  num_attention_heads: { type: t.integer(1), default: 2, doc: 'Built-in bert: attention heads (must divide hidden_size).' },
  intermediate_size: { type: t.integer(1), default: 512, doc: 'Built-in bert: feed-forward size.' },
  max_position_embeddings: { type: t.integer(1), default: 128, doc: 'Built-in bert: longest sequence (position embeddings); also the default data.max_length.' },
  input_name: { type: t.string, doc: 'Data column a built-in model reads (default: features for mlp, pixel_values for cnn).' },
  hidden_sizes: { type: t.array(t.integer(1)), default: [128], doc: 'Built-in mlp: widths of the hidden layers.' },
  channels: { type: t.array(t.integer(1)), default: [16, 32], doc: 'Built-in cnn: output channels of each conv + batch-norm + max-pool block.' },
  activation: { type: t.enumOf('relu', 'gelu', 'tanh'), default: 'relu', doc: 'Built-in mlp: activation of the hidden layers.' },
  dropout: { type: t.number(0, 0.99), doc: 'Built-in models: dropout probability (default 0 for mlp and cnn, 0.1 for bert).' },
  problem_type: { type: t.enumOf('single_label_classification', 'multi_label_classification', 'regression'), doc: 'Loss: cross-entropy, BCE-with-logits or MSE. Default: regression when num_labels is 1, else single_label_classification.' },
  num_labels: { type: t.integer(1), doc: 'Number of classes (or regression targets) the model\'s output has (default 2, or a model folder\'s config.json).' },
  output: { type: t.string, doc: 'Name of the model output holding the logits (default: the first output).' },
  freeze: { type: t.array(t.string), default: [], doc: 'Parameters (initializer names) to keep frozen.' },
  class_weights: { type: t.union(t.array(t.number(0)), t.enumOf('balanced')), doc: 'Cross-entropy class weights, or "balanced" (n_samples / (n_classes · count)).' },
  id2label: { type: t.union(t.array(t.string), t.object), doc: 'Label names by id (a list, or a mapping "0": name). Default: the sorted names when the training labels are text.' },
};

export const DATA_FIELDS: Section = {
  train: { type: t.string, doc: 'Training data: .jsonl, .json, .csv or .parquet. Columns named like the model\'s inputs feed them; `labels` (or `label`) is the target.' },
  eval: { type: t.string, doc: 'Evaluation data, same format.' },
  test: { type: t.string, doc: 'Data for predict, same format (labels optional).' },
  text_columns: { type: t.array(t.string), doc: 'Text columns to tokenize: one, or two for sentence pairs (default: sentence1 + sentence2, text, sentence, review or content).' },
  max_length: { type: t.integer(1), doc: 'Truncate tokenized text to this many tokens, special tokens included (default: max_position_embeddings, or 512).' },
  padding: { type: t.enumOf('longest', 'max_length'), default: 'longest', doc: 'Pad token ids to the longest sequence of each batch, or always to max_length.' },
  streaming: { type: t.union(t.enumOf('auto'), t.boolean), default: 'auto', doc: 'Read records from disk on demand instead of loading the file (auto: for files over 256 MB). JSONL and CSV are indexed in place; Parquet is copied to a temporary JSONL file first; a .json document cannot stream.' },
};

export const TOP_FIELDS: Section = {
  model: { type: t.object, required: true, doc: 'The model to train.' },
  data: { type: t.object, doc: 'Data files.' },
  training: { type: t.object, doc: 'Hugging Face TrainingArguments.' },
  device: { type: t.enumOf('auto', 'cpu', 'cuda'), default: 'auto', doc: 'Execution provider: cpu, cuda (fails clearly when not installed) or auto.' },
  callbacks: { type: t.array(t.string), default: [], doc: 'JavaScript modules of callbacks with Hugging Face\'s event names (on_log, on_evaluate, …). Run only in trusted workspaces.' },
  compute_metrics: { type: t.string, doc: 'A JavaScript module exporting compute_metrics({ predictions, label_ids }) → { name: number }, replacing the built-in metrics.' },
  early_stopping: { type: t.object, doc: 'EarlyStoppingCallback: { patience, threshold } (needs an eval strategy and metric_for_best_model).' },
  metrics: { type: t.array(t.enumOf(...ALL_METRICS)), doc: 'Built-in metrics evaluations report. Default: accuracy and f1 (f1_macro for more than two classes); accuracy and f1_micro for multi-label; mse, mae and r2 for regression.' },
};

export const EARLY_STOPPING_FIELDS: Section = {
  patience: { type: t.integer(1), default: 1, doc: 'Evaluations without improvement before training stops (early_stopping_patience).' },
  threshold: { type: t.number(0), default: 0, doc: 'Minimum improvement that counts (early_stopping_threshold).' },
};

export interface ModelConfig extends Omit<BuiltinConfig, 'builtin'> {
  /** Absolute path of the ONNX file, when not built-in. */
  path?: string;
  builtin?: BuiltinConfig['builtin'];
  problem_type: ProblemType;
  num_labels: number;
  output?: string;
  freeze: string[];
  class_weights?: number[] | 'balanced';
  /** Label names by id (normalized to a list). */
  id2label?: string[];
  /** Absolute path of a tokenizer.json, or "train". */
  tokenizer?: string;
  vocab_size: number;
  lowercase: boolean;
  num_hidden_layers: number;
  hidden_size: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
}

export interface DataConfig {
  train?: string;
  eval?: string;
  test?: string;
  text_columns?: string[];
  max_length?: number;
  padding: 'longest' | 'max_length';
  streaming: 'auto' | boolean;
}

export interface TrainerConfig {
  file: string;
  dir: string;
  model: ModelConfig;
  data: DataConfig;
  training: TrainingArguments;
  device: 'auto' | 'cpu' | 'cuda';
  /** Built-in metrics to report (defaults filled in). */
  metrics: string[];
  /** Absolute paths of callback modules. */
  callbacks: string[];
  computeMetrics?: string;
  earlyStopping?: { patience: number; threshold: number };
  doc: ConfigDocument;
}

/** Loads and validates a config file; every problem is a ConfigError naming file, key and line. */
export function loadConfig(file: string): TrainerConfig {
  const doc = ConfigDocument.load(path.resolve(file));
  return parseConfig(doc);
}

export function parseConfig(doc: ConfigDocument): TrainerConfig {
  const top = validateSection(doc, [], doc.data, TOP_FIELDS);
  const model = validateSection(doc, ['model'], top.model, MODEL_FIELDS) as unknown as ModelConfig;
  const data = validateSection(doc, ['data'], top.data, DATA_FIELDS) as unknown as DataConfig;
  const training = parseTrainingArguments(doc, top.training);
  const resolve = (p: string) => path.resolve(doc.dir, p);
  if (!model.path === !model.builtin) throw doc.error(['model'], model.path ? 'set either path or builtin, not both' : 'needs path (an ONNX file or model folder) or builtin (mlp, cnn, bert)');
  if (model.path) model.path = resolve(model.path);
  if (model.tokenizer && model.tokenizer !== 'train') model.tokenizer = resolve(model.tokenizer);
  if (model.path && fs.existsSync(model.path) && fs.statSync(model.path).isDirectory()) readModelFolder(doc, model);
  model.num_labels ??= 2;
  if (model.dropout === undefined) model.dropout = model.builtin === 'bert' ? 0.1 : 0;
  if (model.builtin === 'bert' && !model.tokenizer) throw doc.error(['model', 'builtin'], 'bert needs model.tokenizer (a tokenizer.json, or "train" to train one on the training text)');
  if (!model.problem_type) model.problem_type = model.num_labels === 1 ? 'regression' : 'single_label_classification';
  if (model.problem_type === 'single_label_classification' && model.num_labels < 2) {
    throw doc.error(['model', 'num_labels'], 'single_label_classification needs num_labels ≥ 2');
  }
  if (Array.isArray(model.class_weights)) {
    if (model.problem_type !== 'single_label_classification') throw doc.error(['model', 'class_weights'], 'class weights apply to single_label_classification only');
    if (model.class_weights.length !== model.num_labels) {
      throw doc.error(['model', 'class_weights'], `has ${model.class_weights.length} weights, expected num_labels = ${model.num_labels}`);
    }
  }
  if (model.id2label !== undefined) model.id2label = labelList(doc, model.id2label as unknown, model.num_labels);
  for (const k of ['train', 'eval', 'test'] as const) if (data[k]) data[k] = resolve(data[k]!);
  training.output_dir = resolve(training.output_dir);
  if (training.logging_dir) training.logging_dir = resolve(training.logging_dir);
  if (typeof training.resume_from_checkpoint === 'string') training.resume_from_checkpoint = resolve(training.resume_from_checkpoint);
  const metrics = (top.metrics as string[] | undefined) ?? defaultMetrics(model.problem_type, model.num_labels);
  const available = builtinMetricNames(model.problem_type, model.num_labels);
  const wrong = metrics.find((m) => !available.includes(m));
  if (wrong) throw doc.error(['metrics'], `"${wrong}" does not apply to ${model.problem_type} with ${model.num_labels} labels (available: ${available.join(', ')})`);
  const earlyStopping = top.early_stopping === undefined ? undefined
    : validateSection(doc, ['early_stopping'], top.early_stopping, EARLY_STOPPING_FIELDS) as { patience: number; threshold: number };
  if (earlyStopping) {
    if (training.eval_strategy === 'no') throw doc.error(['early_stopping'], 'needs an eval_strategy other than "no" (it acts on evaluations)');
    if (!training.metric_for_best_model) throw doc.error(['early_stopping'], 'needs training.metric_for_best_model');
  }
  return {
    file: doc.file, dir: doc.dir, model, data, training, device: top.device as TrainerConfig['device'], metrics, doc,
    callbacks: (top.callbacks as string[]).map(resolve),
    computeMetrics: typeof top.compute_metrics === 'string' ? resolve(top.compute_metrics) : undefined,
    earlyStopping,
  };
}

/**
 * A Hugging Face-style model folder: model.onnx, and config.json (num_labels, problem_type,
 * id2label) and tokenizer.json when present, each used unless the config file says otherwise.
 */
function readModelFolder(doc: ConfigDocument, model: ModelConfig): void {
  const dir = model.path!;
  const onnxFile = path.join(dir, 'model.onnx');
  if (!fs.existsSync(onnxFile)) throw doc.error(['model', 'path'], `${dir} is a folder without model.onnx`);
  model.path = onnxFile;
  const tokenizer = path.join(dir, 'tokenizer.json');
  if (!model.tokenizer && fs.existsSync(tokenizer)) model.tokenizer = tokenizer;
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) return;
  let card: Record<string, unknown>;
  try {
    card = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw doc.error(['model', 'path'], `${cfgFile} is not valid JSON (${(e as Error).message})`);
  }
  // The folder's config.json is the user's file too: a bad value there is blamed on its key.
  const bad = (key: string, expected: string) => new UserError(`${cfgFile}: ${key}: expected ${expected}, got ${JSON.stringify(card[key])}`);
  if (card === null || typeof card !== 'object' || Array.isArray(card)) throw new UserError(`${cfgFile}: expected a JSON object`);
  if (card.num_labels !== undefined && !(Number.isInteger(card.num_labels) && (card.num_labels as number) >= 1)) throw bad('num_labels', 'an integer ≥ 1');
  const problemTypes = ['single_label_classification', 'multi_label_classification', 'regression'];
  if (card.problem_type !== undefined && card.problem_type !== null && !problemTypes.includes(card.problem_type as string)) throw bad('problem_type', `one of ${problemTypes.join(', ')} (or null)`);
  if (card.id2label !== undefined && card.id2label !== null && (typeof card.id2label !== 'object' || Array.isArray(card.id2label))) throw bad('id2label', 'an object {"0": name, …}');
  const id2label = (card.id2label ?? undefined) as Record<string, string> | undefined;
  if (model.num_labels === undefined) {
    if (typeof card.num_labels === 'number') model.num_labels = card.num_labels;
    else if (id2label && typeof id2label === 'object') model.num_labels = Object.keys(id2label).length;
  }
  if (!model.problem_type && typeof card.problem_type === 'string') model.problem_type = card.problem_type as ProblemType;
  if (!model.id2label && id2label && typeof id2label === 'object' && !Object.values(id2label).every((v, i) => v === `LABEL_${i}`)) {
    model.id2label = Array.from({ length: Object.keys(id2label).length }, (_, i) => id2label[String(i)]);
  }
}

/** id2label as a list: from a list, or from a mapping with the keys 0..num_labels-1. */
function labelList(doc: ConfigDocument, value: unknown, numLabels: number): string[] {
  const at = ['model', 'id2label'];
  let names: unknown[];
  if (Array.isArray(value)) names = value;
  else {
    const map = value as Record<string, unknown>;
    names = Array.from({ length: numLabels }, (_, i) => map[String(i)]);
    if (Object.keys(map).length !== numLabels) throw doc.error(at, `has ${Object.keys(map).length} entries, expected num_labels = ${numLabels} (keys "0" to "${numLabels - 1}")`);
  }
  if (names.length !== numLabels) throw doc.error(at, `has ${names.length} names, expected num_labels = ${numLabels}`);
  const bad = names.findIndex((n) => typeof n !== 'string');
  if (bad >= 0) throw doc.error(at, `entry ${bad} is missing or not a string`);
  if (new Set(names).size !== names.length) throw doc.error(at, 'names must be distinct');
  return names as string[];
}

/** JSON Schema of the whole config file, for editors. */
export function configSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Trainer config',
    type: 'object',
    additionalProperties: false,
    required: ['model'],
    properties: {
      model: sectionSchema(MODEL_FIELDS, TOP_FIELDS.model.doc),
      data: sectionSchema(DATA_FIELDS, TOP_FIELDS.data.doc),
      training: sectionSchema(TRAINING_FIELDS, TOP_FIELDS.training.doc),
      device: { enum: ['auto', 'cpu', 'cuda'], default: 'auto', description: TOP_FIELDS.device.doc },
      metrics: { type: 'array', items: { enum: ALL_METRICS }, description: TOP_FIELDS.metrics.doc },
      callbacks: { type: 'array', items: { type: 'string' }, description: TOP_FIELDS.callbacks.doc },
      compute_metrics: { type: 'string', description: TOP_FIELDS.compute_metrics.doc },
      early_stopping: sectionSchema(EARLY_STOPPING_FIELDS, TOP_FIELDS.early_stopping.doc),
    },
  };
}
