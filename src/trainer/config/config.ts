// The trainer config file: `model:`, `data:`, `training:` (TrainingArguments) and `device:`.
// Relative paths resolve against the config file's folder.

import * as path from 'node:path';
import { ConfigDocument } from './document';
import { Section, SectionValues, sectionSchema, t, validateSection } from './fields';
import { TRAINING_FIELDS, TrainingArguments, parseTrainingArguments } from './trainingArguments';
import { resolveModelSource } from './modelSource';
import { IMAGE_FIELDS, ImageConfig, parseImageConfig } from './imageFields';
import type { HubReference } from '../hub/reference';

import type { ProblemType } from '../programs/lossHeads';
import { TASKS, Task } from '../programs/tasks';
import { BUILTINS } from '../models/names';
import { ALL_METRICS, builtinMetricNames, defaultMetrics } from '../metricNames';
import type { LoraConfig } from '../programs/lora';

export const MODEL_FIELDS = {
  path: { type: t.string, doc: 'The ONNX model to train: a file, a model folder (model.onnx or onnx/model.onnx with config.json and tokenizer files), or a Hub repository hf://ORG/NAME[@revision]. Either path, hub or builtin.' },
  hub: { type: t.string, doc: 'A Hugging Face Hub repository ORG/NAME[@revision] to download the ONNX model, config and tokenizer from (as from_pretrained); the same as path: hf://ORG/NAME.' },
  revision: { type: t.string, doc: 'Hub models: the branch, tag or commit to download (default main).' },
  file_name: { type: t.string, doc: 'The ONNX file inside the model folder or repository (default model.onnx, else onnx/model.onnx), as optimum\'s file_name.' },
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
  task: { type: t.enumOf(...TASKS), doc: 'What the model is trained to do (optimum\'s task names): text-classification (default), token-classification, question-answering, text-generation (causal LM) or fill-mask. A model folder\'s config.json architectures decide it when not set.' },
  problem_type: { type: t.enumOf('single_label_classification', 'multi_label_classification', 'regression'), doc: 'Loss: cross-entropy, BCE-with-logits or MSE. Default: regression when num_labels is 1, else single_label_classification.' },
  num_labels: { type: t.integer(1), doc: 'Number of classes (or regression targets) the model\'s output has (default 2, or a model folder\'s config.json).' },
  output: { type: t.string, doc: 'Name of the model output holding the logits (default: the first output).' },
  freeze: { type: t.array(t.string), default: [], doc: 'Parameters (initializer names) to keep frozen.' },
  trainable: { type: t.array(t.string), doc: 'Glob patterns (`*`, `?`) over initializer names and the names of the nodes that read them, e.g. "*attention*": only matching initializers train. Overrides the automatic choice of parameters (see `onnx-trainer check`).' },
  tie_identical: { type: t.boolean, default: false, doc: 'Train initializers that are bit-identical copies (or transposes) of another as one parameter, as PyTorch does with tied weights (e.g. an LM head tied to the embedding, ALBERT\'s shared layers).' },
  class_weights: { type: t.union(t.array(t.number(0)), t.enumOf('balanced')), doc: 'Cross-entropy class weights, or "balanced" (n_samples / (n_classes · count)).' },
  id2label: { type: t.union(t.array(t.string), t.object), doc: 'Label names by id (a list, or a mapping "0": name). Default: the sorted names when the training labels are text.' },
  lora: { type: t.object, doc: 'LoRA fine-tuning with peft\'s semantics: { r, lora_alpha, lora_dropout, target_modules, init }. Only the adapters train; the base model stays frozen.' },
} satisfies Section;

export const LORA_FIELDS = {
  r: { type: t.integer(1), default: 8, doc: 'Rank of the adapters (peft\'s r).' },
  lora_alpha: { type: t.number(0), default: 8, doc: 'Scaling numerator: the adapter output is multiplied by lora_alpha / r.' },
  lora_dropout: { type: t.number(0, 0.99), default: 0, doc: 'Dropout on the adapter input, as peft applies it.' },
  target_modules: { type: t.union(t.array(t.string), t.string), required: true, doc: 'Modules to adapt: names (a module path equal to or ending with .<name>), or one regular expression matched against the whole path.' },
  init: { type: t.string, doc: 'A peft adapter_model.safetensors to start from. Default: peft\'s initialisation (A Kaiming-uniform, B zeros) from the seed.' },
  bias: { type: t.enumOf('none'), default: 'none', doc: 'peft\'s bias option; only "none" (biases stay frozen).' },
  use_rslora: { type: t.boolean, default: false, doc: 'rsLoRA: scale by lora_alpha / sqrt(r) instead of lora_alpha / r.' },
} satisfies Section;

export const DATA_FIELDS = {
  train: { type: t.string, doc: 'Training data: .jsonl, .json, .csv or .parquet, or a folder of images in the imagefolder layout (one subfolder per class). Columns named like the model\'s inputs feed them; `labels` (or `label`) is the target.' },
  eval: { type: t.string, doc: 'Evaluation data, same format (or an image folder).' },
  test: { type: t.string, doc: 'Data for predict, same format (labels optional).' },
  text_columns: { type: t.array(t.string), doc: 'Text columns to tokenize: one, or two for sentence pairs (default: sentence1 + sentence2, text, sentence, review or content).' },
  max_length: { type: t.integer(1), doc: 'Truncate tokenized text to this many tokens, special tokens included (default: max_position_embeddings, or 512).' },
  padding: { type: t.enumOf('longest', 'max_length'), default: 'longest', doc: 'Pad token ids to the longest sequence of each batch, or always to max_length.' },
  packing: { type: t.boolean, default: false, doc: 'text-generation on text: concatenate the tokenized texts and cut them into max_length blocks (run_clm\'s group_texts; the remainder is dropped).' },
  mlm_probability: { type: t.number(0, 1), default: 0.15, doc: 'fill-mask on raw text: the share of tokens the collator masks (80% [MASK], 10% a random token, 10% kept), drawn anew each epoch from the seed.' },
  streaming: { type: t.union(t.enumOf('auto'), t.boolean), default: 'auto', doc: 'Read records from disk on demand instead of loading the file (auto: for files over 256 MB, and images whose decoded pixels would take over 256 MB). JSONL and CSV are indexed in place; Parquet is copied to a temporary JSONL file first; a .json document cannot stream.' },
  image: { type: t.object, doc: 'Image data (an imagefolder folder, or a column of image paths): preprocessing with preprocessor_config.json\'s keys, overriding the model folder\'s file, and training augmentation.' },
} satisfies Section;

export const TOP_FIELDS = {
  model: { type: t.object, required: true, doc: 'The model to train.' },
  data: { type: t.object, doc: 'Data files.' },
  training: { type: t.object, doc: 'Hugging Face TrainingArguments.' },
  device: { type: t.enumOf('auto', 'cpu', 'cuda'), default: 'auto', doc: 'Execution provider: cpu, cuda (fails clearly when not installed) or auto.' },
  callbacks: { type: t.array(t.string), default: [], doc: 'JavaScript modules of callbacks with Hugging Face\'s event names (on_log, on_evaluate, …). Run only in trusted workspaces.' },
  compute_metrics: { type: t.string, doc: 'A JavaScript module exporting compute_metrics({ predictions, label_ids }) → { name: number }, replacing the built-in metrics.' },
  generation: { type: t.object, doc: 'predict on text-generation: how prompts are continued (Hugging Face GenerationConfig: max_new_tokens, do_sample, temperature, top_k, top_p).' },
  early_stopping: { type: t.object, doc: 'EarlyStoppingCallback: { patience, threshold } (needs an eval strategy and metric_for_best_model).' },
  metrics: { type: t.array(t.enumOf(...ALL_METRICS)), doc: 'Built-in metrics evaluations report. Default: accuracy and f1 (f1_macro for more than two classes); accuracy and f1_micro for multi-label; mse, mae and r2 for regression; for the other tasks all of theirs (token-classification: precision, recall, f1, accuracy; question-answering: exact_match, f1; text-generation: perplexity; fill-mask: accuracy, perplexity).' },
} satisfies Section;

/** Hugging Face GenerationConfig's names and defaults (predict on text-generation). */
export const GENERATION_FIELDS = {
  max_new_tokens: { type: t.integer(1), default: 20, doc: 'Tokens to generate after each prompt.' },
  do_sample: { type: t.boolean, default: false, doc: 'Sample the next token (with temperature, top_k, top_p) instead of taking the most likely one.' },
  temperature: { type: t.number(0.000001), default: 1, doc: 'Sampling: logits are divided by this before the softmax.' },
  top_k: { type: t.integer(0), default: 50, doc: 'Sampling: keep the k most likely tokens (0: all).' },
  top_p: { type: t.number(0, 1), default: 1, doc: 'Sampling: keep the most likely tokens whose probability mass reaches top_p (nucleus sampling).' },
} satisfies Section;

export const EARLY_STOPPING_FIELDS = {
  patience: { type: t.integer(1), default: 1, doc: 'Evaluations without improvement before training stops (early_stopping_patience).' },
  threshold: { type: t.number(0), default: 0, doc: 'Minimum improvement that counts (early_stopping_threshold).' },
} satisfies Section;

/**
 * The model section as the run reads it: MODEL_FIELDS' types, with what parseConfig resolves —
 * the task, problem type and number of labels (from the config, the model folder's config.json,
 * or the defaults), dropout's default, the model file's absolute path, the Hub reference, the
 * model folder, id2label as a list, and model.lora parsed by its own table.
 */
export type ModelConfig = Omit<SectionValues<typeof MODEL_FIELDS>, 'hub' | 'id2label' | 'lora' | 'task' | 'problem_type' | 'num_labels' | 'dropout'> & {
  task: Task;
  problem_type: ProblemType;
  num_labels: number;
  dropout: number;
  /** The Hub repository the model comes from. */
  hub?: HubReference;
  /** The model folder (or Hub snapshot) whose config.json and tokenizer files every saved model carries. */
  folder?: string;
  /** Label names by id (normalized to a list). */
  id2label?: string[];
  /** LoRA settings (init resolved to an absolute path). */
  lora?: LoraConfig;
};

/** The data section as the run reads it: DATA_FIELDS' types, data.image parsed by its own table. */
export type DataConfig = Omit<SectionValues<typeof DATA_FIELDS>, 'image'> & { image: ImageConfig };

/** predict on text-generation: GENERATION_FIELDS' types. */
export type GenerationConfig = SectionValues<typeof GENERATION_FIELDS>;

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
  earlyStopping?: SectionValues<typeof EARLY_STOPPING_FIELDS>;
  generation: GenerationConfig;
  doc: ConfigDocument;
}

/** Loads and validates a config file; every problem is a ConfigError naming file, key and line. */
export function loadConfig(file: string): TrainerConfig {
  const doc = ConfigDocument.load(path.resolve(file));
  return parseConfig(doc);
}

export function parseConfig(doc: ConfigDocument): TrainerConfig {
  const top = validateSection(doc, [], doc.data, TOP_FIELDS);
  const raw = validateSection(doc, ['model'], top.model, MODEL_FIELDS);
  const rawData = validateSection(doc, ['data'], top.data, DATA_FIELDS);
  const data: DataConfig = { ...rawData, image: parseImageConfig(doc, rawData.image) };
  const training = parseTrainingArguments(doc, top.training);
  const resolve = (p: string) => path.resolve(doc.dir, p);
  const sources = (['path', 'hub', 'builtin'] as const).filter((k) => raw[k] !== undefined);
  if (sources.length !== 1) throw doc.error(['model'], sources.length ? `set one of ${sources.join(' and ')}, not both` : 'needs path (an ONNX file, model folder or hf://ORG/NAME), hub or builtin (mlp, cnn, bert)');
  const lora = raw.lora !== undefined ? parseLora(doc, raw.lora, resolve) : undefined;
  const tokenizer = raw.tokenizer && raw.tokenizer !== 'train' ? resolve(raw.tokenizer) : raw.tokenizer;
  const source = resolveModelSource(doc, { path: raw.path && resolve(raw.path), file_name: raw.file_name, tokenizer });
  // The model folder's config.json fills what the config file leaves out (defaults come after).
  const numLabels = raw.num_labels ?? source.num_labels ?? 2;
  const model: ModelConfig = {
    ...raw,
    path: source.path, hub: source.hub, folder: source.folder, tokenizer: tokenizer ?? source.tokenizer,
    task: raw.task ?? source.task ?? 'text-classification',
    num_labels: numLabels,
    problem_type: raw.problem_type ?? source.problem_type ?? (numLabels === 1 ? 'regression' : 'single_label_classification'),
    dropout: raw.dropout ?? (raw.builtin === 'bert' ? 0.1 : 0),
    id2label: undefined,
    lora,
  };
  const id2label = raw.id2label ?? source.id2label;
  if (model.builtin === 'bert' && !model.tokenizer) throw doc.error(['model', 'builtin'], 'bert needs model.tokenizer (a tokenizer.json, or "train" to train one on the training text)');
  if (model.problem_type === 'single_label_classification' && model.num_labels < 2) {
    throw doc.error(['model', 'num_labels'], 'single_label_classification needs num_labels ≥ 2');
  }
  if (Array.isArray(model.class_weights)) {
    if (model.problem_type !== 'single_label_classification') throw doc.error(['model', 'class_weights'], 'class weights apply to single_label_classification only');
    if (model.class_weights.length !== model.num_labels) {
      throw doc.error(['model', 'class_weights'], `has ${model.class_weights.length} weights, expected num_labels = ${model.num_labels}`);
    }
  }
  if (id2label !== undefined) model.id2label = labelList(doc, id2label, model.num_labels);
  for (const k of ['train', 'eval', 'test'] as const) if (data[k]) data[k] = resolve(data[k]!);
  training.output_dir = resolve(training.output_dir);
  if (training.logging_dir) training.logging_dir = resolve(training.logging_dir);
  if (typeof training.resume_from_checkpoint === 'string') training.resume_from_checkpoint = resolve(training.resume_from_checkpoint);
  const metrics: string[] = top.metrics ?? defaultMetrics(model.problem_type, model.num_labels, model.task);
  const available = builtinMetricNames(model.problem_type, model.num_labels, model.task);
  const wrong = metrics.find((m) => !available.includes(m));
  const what = model.task === 'text-classification' ? `${model.problem_type} with ${model.num_labels} labels` : model.task;
  if (wrong) throw doc.error(['metrics'], `"${wrong}" does not apply to ${what} (available: ${available.join(', ')})`);
  const earlyStopping = top.early_stopping === undefined ? undefined
    : validateSection(doc, ['early_stopping'], top.early_stopping, EARLY_STOPPING_FIELDS);
  if (earlyStopping) {
    if (training.eval_strategy === 'no') throw doc.error(['early_stopping'], 'needs an eval_strategy other than "no" (it acts on evaluations)');
    if (!training.metric_for_best_model) throw doc.error(['early_stopping'], 'needs training.metric_for_best_model');
  }
  return {
    file: doc.file, dir: doc.dir, model, data, training, device: top.device, metrics, doc,
    callbacks: top.callbacks.map(resolve),
    computeMetrics: typeof top.compute_metrics === 'string' ? resolve(top.compute_metrics) : undefined,
    earlyStopping,
    generation: validateSection(doc, ['generation'], top.generation ?? {}, GENERATION_FIELDS),
  };
}

/** model.lora, validated; its target_modules regex must compile. */
function parseLora(doc: ConfigDocument, value: unknown, resolve: (p: string) => string): LoraConfig {
  const lora = validateSection(doc, ['model', 'lora'], value, LORA_FIELDS);
  if (lora.target_modules === 'all-linear') {
    // peft's shorthand depends on the model class (which layer is the output layer); a file does not say.
    throw doc.error(['model', 'lora', 'target_modules'], '"all-linear" is not supported; list the module names (e.g. [query, key, value, dense]) or give a regular expression');
  }
  if (typeof lora.target_modules === 'string') {
    try {
      new RegExp(lora.target_modules);
    } catch (e) {
      throw doc.error(['model', 'lora', 'target_modules'], `is not a valid regular expression (${(e as Error).message})`);
    }
  } else if (lora.target_modules.length === 0) {
    throw doc.error(['model', 'lora', 'target_modules'], 'needs at least one module name');
  }
  if (lora.init) lora.init = resolve(lora.init);
  return lora;
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

/** The model section's schema, with model.lora's own keys (editors complete them too). */
function modelSchema(): Record<string, unknown> {
  const schema = sectionSchema(MODEL_FIELDS, TOP_FIELDS.model.doc);
  const properties = schema.properties as Record<string, unknown>;
  properties.lora = sectionSchema(LORA_FIELDS, MODEL_FIELDS.lora.doc);
  return schema;
}

/** The data section's schema, with data.image's own keys. */
function dataSchema(): Record<string, unknown> {
  const schema = sectionSchema(DATA_FIELDS, TOP_FIELDS.data.doc);
  (schema.properties as Record<string, unknown>).image = sectionSchema(IMAGE_FIELDS, DATA_FIELDS.image.doc);
  return schema;
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
      model: modelSchema(),
      data: dataSchema(),
      training: sectionSchema(TRAINING_FIELDS, TOP_FIELDS.training.doc),
      device: { enum: ['auto', 'cpu', 'cuda'], default: 'auto', description: TOP_FIELDS.device.doc },
      metrics: { type: 'array', items: { enum: ALL_METRICS }, description: TOP_FIELDS.metrics.doc },
      callbacks: { type: 'array', items: { type: 'string' }, description: TOP_FIELDS.callbacks.doc },
      compute_metrics: { type: 'string', description: TOP_FIELDS.compute_metrics.doc },
      early_stopping: sectionSchema(EARLY_STOPPING_FIELDS, TOP_FIELDS.early_stopping.doc),
      generation: sectionSchema(GENERATION_FIELDS, TOP_FIELDS.generation.doc),
    },
  };
}
