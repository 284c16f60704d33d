// From a config file to a ready Trainer: loads the model and the data, and checks everything
// that can be checked before a single file is written (data shapes against the graph, labels,
// metric names, strategies, that every operator on the gradient path has a rule).

import * as fs from 'node:fs';
import { TrainerConfig } from './config/config';
import * as path from 'node:path';
import { Dataset, buildDataset, checkContiguousLabels, labelNamesIn, sampleShape } from './data/dataset';
import { DataRecord } from './data/readers';
import { RecordSource, openSource } from './data/source';
import { DataError } from './errors';
import { Vocabulary, buildBuiltin, defaultInputName } from './models';
import { encodeRecord } from './data/text';
import { MaskingSpec } from './data/maskedLm';
import { packedSource } from './data/taskText';
import { TextSetup, needsTokenizing, setupText } from './textSetup';
import { ImageSetup, holdsImages, imageInputOf, setupImages } from './imageSetup';
import { ImageFolderSource } from './data/image/folder';
import type { TextTokenizer } from './text';
import { TrainerCallback } from './loop/callbacks';
import { listCheckpoints } from './loop/checkpoints';
import { earlyStoppingCallback } from './loop/earlyStopping';
import { loadCallbackModule, loadComputeMetrics } from './loop/userModules';
import { Trainer } from './loop/trainer';
import { Model, QuantizedModelError, describeQuantizedWeight, loadModel } from './onnx/model';
import { formatHubReference } from './hub/reference';
import { floatVariantOf, readCompanions } from './hub/modelFiles';
import { CONFIG_FILE } from './programs/export';
import { PreparedModel, prepareModel } from './programs/prepare';
import { LoraModel, adapterTensorNames, insertAdapters } from './programs/lora';
import { readAdapterWeights } from './programs/peftFiles';
import { resolveDevice } from './programs/session';
import { precisionOf, precisionUnsupported } from './programs/precision';
import { inputEmbeddingTable, paddingTokenId } from './programs/paddingRow';
import { outputDirProblem } from './io/outputDir';

import type { JobKind, PreparationPhase } from '../protocol';

export type { JobKind };

type ImageShape = NonNullable<Model['graph']['inputs'][number]['shape']>;

export interface Job {
  /** Label names by id, when the labels have names. */
  labelNames?: string[];
  config: TrainerConfig;
  model: Model;
  prepared: PreparedModel;
  train?: Dataset;
  eval?: Dataset;
  test?: Dataset;
  trainer: Trainer;
  /** The tokenizer, when the data is text. */
  tokenizer?: TextTokenizer;
  /** With model.lora: the adapters inserted into `model` (and the base model they came from). */
  lora?: LoraModel;
}

/** Inserts model.lora's adapters, starting from its init file or from peft's initialisation. */
export function applyLora(config: TrainerConfig, model: Model): LoraModel {
  const lora = config.model.lora!;
  if (lora.init && !fs.existsSync(lora.init)) throw config.doc.error(['model', 'lora', 'init'], `file not found: ${lora.init}`);
  const init = lora.init ? readAdapterWeights(lora.init) : undefined;
  return insertAdapters(model, lora, config.training.seed, init);
}

type Split = 'train' | 'eval' | 'test';

/** The file a split reads: predictions fall back to the eval data when there is no test data. */
function fileOf(config: TrainerConfig, split: Split): { file?: string; key: Split } {
  if (split === 'test' && !config.data.test) return { file: config.data.eval, key: 'eval' };
  return { file: config.data[split], key: split };
}

async function records(config: TrainerConfig, split: Split): Promise<RecordSource | undefined> {
  const { file, key } = fileOf(config, split);
  if (!file) return undefined;
  if (!fs.existsSync(file)) throw config.doc.error(['data', key], `file not found: ${file}`);
  // A folder is images in the imagefolder layout.
  if (fs.statSync(file).isDirectory()) {
    const images = ImageFolderSource.open(file, config.data.image.column);
    if (!images) throw config.doc.error(['data', key], `${file} is a folder without PNG or JPEG images; expected a data file (.jsonl, .json, .csv or .parquet) or an image folder (one subfolder of images per class)`);
    return images;
  }
  return openSource(file, config.data.streaming);
}

/** The ONNX file, or a built-in architecture shaped by the first data record (or the vocabulary). */
function acquireModel(config: TrainerConfig, sample: { file: string; record: DataRecord } | undefined, vocab?: Vocabulary): Model {
  const m = config.model;
  if (m.hub && !m.path) throw config.doc.error(['model', modelKey(config)], `${formatHubReference(m.hub)} is not in the Hugging Face cache yet; the onnx-trainer command line downloads it (in code: downloadHubModel)`);
  if (m.path) {
    if (!fs.existsSync(m.path)) throw config.doc.error(['model', 'path'], `model file not found: ${m.path}`);
    try {
      return loadModel(m.path);
    } catch (e) {
      if (e instanceof QuantizedModelError) throw config.doc.error(['model', modelKey(config)], quantizedRefusal(m, e));
      throw e;
    }
  }
  if (m.builtin === 'bert') return buildBuiltin({ ...m, builtin: 'bert' }, [], m.num_labels, config.training.seed, vocab);
  const column = m.input_name ?? defaultInputName(m.builtin!);
  if (!sample) throw config.doc.error(['model', 'builtin'], 'a built-in model takes its input shape from the data, but this command reads no data file');
  const value = sample.record.values[column];
  const shape = sampleShape(value);
  if (value === undefined || shape.length === 0) {
    throw new DataError(sample.file, sample.record.line, `the built-in ${m.builtin} reads column "${column}" (an array per sample), which is ${value === undefined ? 'missing' : 'not an array'}`);
  }
  return buildBuiltin({ ...m, builtin: m.builtin! }, shape, m.num_labels, config.training.seed);
}

/** The key that names the model in the config file, for errors. */
function modelKey(config: TrainerConfig): string {
  const raw = (config.doc.data as { model?: Record<string, unknown> }).model ?? {};
  return raw.file_name !== undefined ? 'file_name' : raw.hub !== undefined ? 'hub' : 'path';
}

/** Why a quantized model is refused, naming the float32 file to train instead. */
function quantizedRefusal(m: TrainerConfig['model'], e: QuantizedModelError): string {
  const file = m.folder ? path.relative(m.folder, m.path!).split(path.sep).join('/') : path.basename(m.path!);
  const float = floatVariantOf(file);
  const what = `${m.hub ? formatHubReference(m.hub, file) : m.path} holds quantized weights (${describeQuantizedWeight(e.weight)}), which cannot be trained`;
  if (m.hub && float) return `${what}; use the float32 model: ${formatHubReference({ ...m.hub, file: undefined }, float ?? 'model.onnx')}`;
  const sibling = float && path.join(m.folder ?? path.dirname(m.path!), float);
  if (sibling && fs.existsSync(sibling)) return `${what}; use the float32 model: ${sibling}`;
  return `${what}; export the float32 model (optimum-cli export onnx without quantization) and train that`;
}

/** The built-in metric names this config's evaluations report (without the "eval_" prefix). */
export function reportedMetrics(config: TrainerConfig): string[] {
  return ['loss', ...config.metrics];
}

/** Reports long preparation steps (the extension shows them as progress notifications). */
export type PhaseReporter = (phase: PreparationPhase, message: string) => void;

/**
 * Label names: model.id2label, else the text labels of the training data, else (evaluating or
 * predicting with a trained model) the names in that model's config.json.
 */
function labelNames(config: TrainerConfig, train: Iterable<DataRecord> | undefined, modelDir: string | undefined): string[] | undefined {
  if (config.model.id2label) return config.model.id2label;
  if (config.model.problem_type === 'regression') return undefined;
  if (train) {
    const names = labelNamesIn(train);
    if (names && names.length !== config.model.num_labels) {
      throw config.doc.error(['model', 'num_labels'], `is ${config.model.num_labels}, but the training labels have ${names.length} names (${names.join(', ')})`);
    }
    return names;
  }
  const saved = modelDir && path.join(modelDir, CONFIG_FILE);
  if (saved && fs.existsSync(saved)) {
    const card = JSON.parse(fs.readFileSync(saved, 'utf8')) as { id2label?: Record<string, string> };
    const names = card.id2label && Array.from({ length: config.model.num_labels }, (_, i) => card.id2label![String(i)]);
    if (names && names.every((n) => typeof n === 'string') && !names.every((n, i) => n === `LABEL_${i}`)) return names;
  }
  return undefined;
}

/** Callbacks a host adds around the user's: reporting integrations first, terminal and control last. */
export interface HostCallbacks {
  reporting?: TrainerCallback[];
  after?: TrainerCallback[];
  /** Whether the host asked the run to stop early (a signal, the extension's stop). */
  interrupted?: () => boolean;
}

/**
 * A new run refuses an output_dir holding an earlier run's checkpoints — they would be mixed with
 * the new ones, or overwritten — unless overwrite_output_dir says to start over.
 */
export function checkOutputDir(config: TrainerConfig, resuming: boolean): void {
  const out = config.training.output_dir;
  const unusable = outputDirProblem(out);
  if (unusable) throw config.doc.error(['training', 'output_dir'], unusable);
  if (resuming || config.training.overwrite_output_dir) return;
  const earlier = listCheckpoints(out).map((c) => path.basename(c.path));
  if (earlier.length) {
    throw config.doc.error(['training', 'output_dir'], `${out} already holds a run (${earlier.slice(-3).join(', ')}); ` +
      'resume it (--resume), choose another output_dir, or set overwrite_output_dir: true to start over');
  }
}

export async function prepareJob(config: TrainerConfig, kind: JobKind, host: HostCallbacks = {}, onPhase: PhaseReporter = () => {}, modelDir?: string): Promise<Job> {
  const { doc, training: args } = config;
  resolveDevice(config.device);
  if (kind === 'train' && !config.data.train) throw doc.error(['data'], 'training needs data.train');
  const needsEval = kind === 'evaluate' || (kind === 'train' && args.eval_strategy !== 'no');
  if (needsEval && !config.data.eval) {
    throw kind === 'train' ? doc.error(['training', 'eval_strategy'], `is "${args.eval_strategy}" but there is no evaluation data (data.eval)`) : doc.error(['data'], 'evaluate needs data.eval');
  }
  if (kind === 'predict' && !config.data.test && !config.data.eval) throw doc.error(['data'], 'predict needs data.test (or data.eval)');
  const metric = args.metric_for_best_model;
  // With a compute_metrics module the metric names are known only once it runs.
  if (metric && kind === 'train' && !config.computeMetrics) {
    const name = metric.replace(/^eval_/, '');
    const known = reportedMetrics(config);
    if (!known.includes(name)) throw doc.error(['training', 'metric_for_best_model'], `"${metric}" is never computed; evaluations report ${known.join(', ')}`);
  }

  onPhase('loading', 'Reading the model and the data');
  const raw: Partial<Record<Split, RecordSource>> = {};
  if (kind === 'train') raw.train = await records(config, 'train');
  if (kind === 'train' || kind === 'evaluate') raw.eval = await records(config, 'eval');
  if (kind === 'predict') raw.test = await records(config, 'test');
  // Exporting a built-in model needs one record for its input shape.
  if (kind === 'export' && config.model.builtin) {
    if (config.data.train) raw.train = await records(config, 'train');
    else raw.eval = await records(config, 'eval');
  }
  const firstSplit = (['train', 'eval', 'test'] as Split[]).find((k) => raw[k]?.count);
  const sample = firstSplit ? { file: fileOf(config, firstSplit).file!, record: raw[firstSplit]!.read(0) } : undefined;
  // Text: the tokenizer comes first (a built-in bert's vocabulary size depends on it).
  let text: TextSetup | undefined;
  const tokenize = (inputs?: string[]) => {
    if (!sample || !needsTokenizing(config, inputs, sample.record)) return;
    onPhase('tokenizing', 'Tokenizing the text');
    text = setupText(config, { train: raw.train?.scan(), file: sample.file, first: sample.record }, modelDir);
  };
  if (config.model.builtin === 'bert') tokenize();
  // Images: decoded and preprocessed into the model input (a built-in model's shape comes from them).
  let images: ImageSetup | undefined;
  const isImages = (source: RecordSource, input: string) => source instanceof ImageFolderSource || holdsImages(config, source.count ? source.read(0) : undefined, input);
  const setUpImages = (input: string | undefined, shape?: ImageShape) => {
    if (!sample || !firstSplit) return;
    const source = raw[firstSplit]!;
    if (!input) {
      if (source instanceof ImageFolderSource) throw doc.error(['data', fileOf(config, firstSplit).key], 'is a folder of images, but the model has no pixel_values input (or single float input); set data.image.input');
      return;
    }
    if (isImages(source, input)) images = setupImages(config, { input, shape, first: { source, record: sample.record } });
  };
  const builtin = config.model.builtin;
  if (builtin && builtin !== 'bert') setUpImages(config.model.input_name ?? defaultInputName(builtin));
  const shaped = images && sample && { ...sample, record: images.transform(raw[firstSplit!]!)(sample.record) };
  const model = acquireModel(config, shaped ?? sample, text && { size: text.spec.tokenizer.vocabSize, padTokenId: text.spec.tokenizer.padTokenId });
  if (!builtin) {
    const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
    const input = imageInputOf(config, inputs);
    setUpImages(input, inputs.find((i) => i.name === input)?.shape);
  }
  if (!config.model.builtin) tokenize(model.graph.inputs.map((i) => i.name));
  const lora = config.model.lora && applyLora(config, model);
  const prepared = prepareModel(lora?.model ?? model, {
    output: config.model.output, freeze: config.model.freeze, trainable: config.model.trainable, tieIdentical: config.model.tie_identical,
    task: config.model.task,
    trainOnly: lora && adapterTensorNames(lora),
  });
  for (const f of config.model.freeze) {
    if (!model.graph.initializers.has(f)) throw doc.error(['model', 'freeze'], `"${f}" is not an initializer of ${model.path}`);
  }
  if (prepared.params.length === 0) throw doc.error(['model'], `${model.path} has no trainable parameters (float initializers the output depends on)`);
  // A static width of the logits that disagrees with num_labels would fail inside onnxruntime
  // (num_labels sizes the classifier of sequence and token classification only).
  const labelled = config.model.task === 'text-classification' || config.model.task === 'token-classification';
  const logitsShape = prepared.graph.outputs.find((o) => o.name === prepared.logits)?.shape;
  const width = logitsShape?.[logitsShape.length - 1];
  if (labelled && typeof width === 'number' && width !== config.model.num_labels && !(config.model.problem_type === 'regression' && config.model.num_labels === 1 && logitsShape!.length === 1)) {
    throw doc.error(['model', 'num_labels'], `is ${config.model.num_labels}, but ${path.basename(model.path)}'s output "${prepared.logits}" has ${width} values per sample`);
  }
  const names = labelNames(config, raw.train?.scan(), modelDir);
  const task = config.model.task;
  const spec = { task, problemType: config.model.problem_type, numLabels: config.model.num_labels, names };
  const masking = text && task === 'fill-mask' ? maskingOf(config, text) : undefined;
  const build = (split: Split, requireLabels: boolean): Dataset | undefined => {
    let source = raw[split];
    if (!source) return undefined;
    const file = source.file;
    if (images && isImages(source, images.input)) {
      const sized = images.sized(source);
      const data = buildDataset(sized, prepared.inputs, spec, requireLabels, undefined, images.transform(source));
      return split === 'train' ? images.augmented(data, sized) : data;
    }
    const encode = text && ((r: DataRecord) => encodeRecord(file, r, text!.spec));
    if (encode && config.data.packing && task === 'text-generation' && split !== 'test') {
      source = packedSource(source, encode, text!.spec.maxLength);
      return buildDataset(source, prepared.inputs, spec, requireLabels, text?.padding);
    }
    // Raw text for fill-mask gets its labels from the collator's masking (training and evaluation).
    const masked = masking && split !== 'test' && source.count > 0 && !source.read(0).values.labels;
    const data = buildDataset(source, prepared.inputs, spec, requireLabels && !masked, text?.padding, encode);
    return masked ? { ...data, masking, hasLabels: true } : data;
  };
  const train = kind === 'export' ? undefined : build('train', true);
  if (train && task === 'text-classification' && config.model.problem_type === 'single_label_classification') checkContiguousLabels(train, config.model.num_labels);
  const evalSet = kind === 'export' ? undefined : build('eval', true);
  const test = build('test', false);
  // A model folder's config and tokenizer files travel into every checkpoint and exported model;
  // the tokenizer actually used for the data wins.
  const companions = readCompanions(config.model.folder);
  const files = { ...companions.files, ...text?.files, ...images?.files };
  // GPT-2's token embedding has no padding_idx (and its pad token is often the real EOS token).
  const table = task !== 'text-generation' && inputEmbeddingTable(prepared.graph, new Set(prepared.params.map((p) => p.name)));
  const padId = table && train ? paddingTokenId(train, text?.padding.values.get('input_ids')) : undefined;
  if (table && padId !== undefined && padId < prepared.graph.initializers.get(table)!.dims[0]) prepared.paddingRow = { param: table, row: padId };
  const labels = {
    task, maskTokenId: text?.spec.tokenizer.specialTokenIds.mask,
    problemType: config.model.problem_type, numLabels: config.model.num_labels, classWeights: config.model.class_weights, names,
    files: Object.keys(files).length ? files : undefined, baseConfig: companions.config,
  };

  if (kind === 'train') {
    const precision = precisionOf(args);
    const unsupported = precisionUnsupported(precision, resolveDevice(config.device));
    if (unsupported) throw doc.error(['training', precision], unsupported);
  }
  const user: TrainerCallback[] = [];
  if (config.earlyStopping) user.push(earlyStoppingCallback(config.earlyStopping));
  for (const [i, file] of config.callbacks.entries()) {
    if (!fs.existsSync(file)) throw doc.error(['callbacks', i], `module not found: ${file}`);
    user.push(await loadCallbackModule(file));
  }
  if (config.computeMetrics && !fs.existsSync(config.computeMetrics)) throw doc.error(['compute_metrics'], `module not found: ${config.computeMetrics}`);
  const computeMetrics = config.computeMetrics ? await loadComputeMetrics(config.computeMetrics) : undefined;
  // Hugging Face's order: flow control, reporting integrations, the user's callbacks, progress.
  const trainer = new Trainer({
    model: lora?.model ?? model, lora, args, labels, prepared, trainDataset: train, evalDataset: evalSet, callbacks: [...(host.reporting ?? []), ...user, ...(host.after ?? [])],
    device: config.device, metrics: config.metrics, computeMetrics, interrupted: host.interrupted,
  });
  if (kind === 'train') {
    // Compiled now, once: an operator without a gradient rule is a model problem, reported
    // before anything is written; train() runs what was compiled here.
    onPhase('compiling', 'Compiling the training graph');
    trainer.compileTrainStep();
  }
  return { config, model: lora?.model ?? model, prepared, train, eval: evalSet, test, trainer, labelNames: names, lora, tokenizer: text?.spec.tokenizer };
}

/** The collator's masking for fill-mask on raw text, from data.mlm_probability and the tokenizer. */
function maskingOf(config: TrainerConfig, text: TextSetup): MaskingSpec {
  const t = text.spec.tokenizer;
  const maskTokenId = t.specialTokenIds.mask;
  if (maskTokenId === undefined) throw config.doc.error(['model', 'tokenizer'], 'fill-mask on raw text needs a tokenizer with a mask token ([MASK] or <mask>)');
  const specialIds = new Set([...Object.values(t.specialTokenIds), t.padTokenId].filter((v): v is number => v !== undefined));
  return { probability: config.data.mlm_probability, maskTokenId, vocabSize: t.vocabSize, specialIds, seed: config.training.seed };
}
