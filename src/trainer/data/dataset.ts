// Turns data records into examples for a model: each column named like a graph input becomes a
// typed array of that input's element type with its per-sample shape checked against the graph,
// and `labels` (or `label`) becomes the target checked against problem_type and num_labels.
// Every mismatch is an error naming the file, the line and the column.

import { Dim, ValueInfo } from '../onnx/graph';
import { DataType, TensorData, allocate, typeName } from '../onnx/tensor';
import { DataError } from '../errors';
import { DataRecord } from './readers';
import { RecordSource } from './source';

import type { ProblemType } from '../programs/lossHeads';
import type { Task } from '../programs/tasks';
import { taskTargetOf } from './targets';
import { MaskingSpec, maskExample } from './maskedLm';
import type { QaText } from './squad';
import { PixelValues } from './image/processor';

export type { ProblemType };

export interface LabelSpec {
  /** Default: text-classification (one label per sample, by problemType). */
  task?: Task;
  problemType: ProblemType;
  numLabels: number;
  /** Label names by id; string labels in the data are looked up here. */
  names?: string[];
}

function rawLabel(r: DataRecord): unknown {
  return 'labels' in r.values ? r.values.labels : r.values.label;
}

/** The label column, or token classification's word-level tags (ner_tags, tags). */
function rawLabelOrTags(r: DataRecord): unknown {
  return rawLabel(r) ?? r.values.ner_tags ?? r.values.tags;
}

/**
 * Label names found in training records whose labels are text (single-label: "pos"; multi-label:
 * ["sports", "news"]): the sorted distinct names, as Hugging Face's example scripts build them.
 * Undefined when the labels are numbers.
 */
export function labelNamesIn(records: Iterable<DataRecord>): string[] | undefined {
  const names = new Set<string>();
  for (const r of records) {
    const v = rawLabelOrTags(r);
    if (typeof v === 'string') names.add(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) v.forEach((x) => names.add(x as string));
    else if (v !== undefined && v !== null) return undefined;
  }
  return names.size ? [...names].sort() : undefined;
}

export interface Feature {
  dims: number[];
  data: TensorData;
}

export interface Example {
  line: number;
  features: Map<string, Feature>;
  /** A class id, a vector (multi-hot or regression targets), per-token ids, or a QA [start, end]. */
  label?: number | number[];
  /** Text data on words: the word of each token (null for special tokens; QA: for the question). */
  wordIds?: (number | null)[];
  /** Question answering on text: the context and the gold answers. */
  qa?: QaText;
  /** Image data: the file the pixels came from. */
  image?: string;
}

/** Inputs padded per batch (tokenized text) and how: the pad value of each, and the target length. */
export interface PaddingSpec {
  values: Map<string, number>;
  strategy: 'longest' | 'max_length';
  maxLength: number;
}

export interface Dataset {
  file: string;
  size: number;
  /** Example i (0-based), from memory or read from disk. */
  example(i: number): Example;
  hasLabels: boolean;
  padding?: PaddingSpec;
  /** Class ids of single-label data, in file order (−1 where a record has none). */
  classIds?: Int32Array;
  /** Fill-mask on raw text: the collator's masking, applied as batches are drawn. */
  masking?: MaskingSpec;
  /** Training images: the augmentation of example `index` in epoch `pass`, applied as batches are drawn. */
  augment?: (e: Example, index: number, pass: number) => Example;
}

/**
 * Examples `indices` of a data set as a batch sees them: masked for fill-mask on raw text, and
 * augmented for training images, per pass (the epoch; −1 for evaluation, which is never augmented).
 */
export function batchExamples(data: Dataset, indices: readonly number[], pass: number): Example[] {
  return indices.map((i) => {
    let e = data.example(i);
    if (data.masking) e = maskExample(e, data.masking, pass);
    if (data.augment && pass >= 0) e = data.augment(e, i, pass);
    return e;
  });
}

/** The per-sample shape of a column's value: a nested array's, or preprocessed pixels'. */
export function sampleShape(value: unknown): number[] {
  if (value instanceof PixelValues) return [...value.dims];
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

function show(dims: readonly Dim[]): string {
  return `[${dims.join(', ')}]`;
}

/** Flattens a (nested) array into numbers, returning its shape; ragged nesting is an error. */
function flatten(value: unknown): { dims: number[]; values: number[] } | string {
  // JSON reads 1e400 as Infinity; such a value would turn every weight into NaN.
  if (typeof value === 'number' && !Number.isFinite(value)) return `holds ${value}, which is not a finite number (a value too large for a float?)`;
  if (typeof value === 'number' || typeof value === 'boolean') return { dims: [], values: [Number(value)] };
  if (!Array.isArray(value)) return `expected a number or an array of numbers, got ${value === null ? 'null' : typeof value === 'string' ? `text "${value.slice(0, 40)}"` : typeof value}`;
  if (value.length === 0) return { dims: [0], values: [] };
  const parts = value.map(flatten);
  const bad = parts.find((p) => typeof p === 'string');
  if (bad) return bad as string;
  const first = parts[0] as { dims: number[]; values: number[] };
  for (const p of parts as { dims: number[] }[]) {
    if (p.dims.join(',') !== first.dims.join(',')) return `is a ragged array (items of shapes ${show(first.dims)} and ${show(p.dims)})`;
  }
  return { dims: [value.length, ...first.dims], values: (parts as { values: number[] }[]).flatMap((p) => p.values) };
}

function nameToId(name: string, spec: LabelSpec, fail: (msg: string) => DataError): number {
  if (!spec.names) throw fail('text labels need label names (model.id2label), or text labels in the training data');
  const id = spec.names.indexOf(name);
  if (id < 0) throw fail(`not one of the labels the model was trained on (${spec.names.join(', ')})`);
  return id;
}

function labelOf(r: DataRecord, file: string, spec: LabelSpec): number | number[] | undefined {
  if (spec.task && spec.task !== 'text-classification') return taskTargetOf(r, file, { ...spec, task: spec.task });
  const raw = rawLabel(r);
  if (raw === undefined || raw === null) return undefined;
  const { problemType, numLabels } = spec;
  const fail = (msg: string) => new DataError(file, r.line, `label ${JSON.stringify(raw)}: ${msg}`);
  // true / false would silently become 1 / 0; labels are class ids, names or numbers.
  const hasBoolean = (v: unknown): boolean => typeof v === 'boolean' || (Array.isArray(v) && v.some(hasBoolean));
  if (hasBoolean(raw)) throw fail('true/false is not a label; expected a class id, a label name or a number (write 1 or 0)');
  // A multi-label target may be the list of names that apply (possibly none, with names known).
  const names = Array.isArray(raw) && raw.every((x) => typeof x === 'string') && (raw.length > 0 || !!spec.names);
  if (problemType === 'multi_label_classification' && names) {
    const hot = new Array<number>(numLabels).fill(0);
    for (const name of raw as string[]) hot[nameToId(name, spec, fail)] = 1;
    return hot;
  }
  if (problemType === 'single_label_classification') {
    const v = typeof raw === 'string' ? nameToId(raw, spec, fail) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw fail(`expected a class id (an integer from 0 to ${numLabels - 1})`);
    if (v < 0 || v >= numLabels) throw fail(`out of range for num_labels ${numLabels} (expected 0 to ${numLabels - 1})`);
    return v;
  }
  const flat = flatten(raw);
  if (typeof flat === 'string') throw fail(flat);
  if (problemType === 'multi_label_classification') {
    if (flat.values.length !== numLabels) throw fail(`expected ${numLabels} values (one 0/1 per label)`);
    if (flat.values.some((x) => x !== 0 && x !== 1)) throw fail('multi-label targets must be 0 or 1');
    return flat.values;
  }
  if (flat.values.length !== numLabels) throw fail(`expected ${numLabels} regression target${numLabels > 1 ? 's' : ''}`);
  return numLabels === 1 && flat.dims.length === 0 ? flat.values[0] : flat.values;
}

type Converter = (r: DataRecord) => Example;

/** Converts records to examples, checking them against the graph inputs and the label spec. */
function converter(file: string, inputs: readonly ValueInfo[], labels: LabelSpec | undefined, requireLabels: boolean, padding?: PaddingSpec): Converter {
  const symbolValues = new Map<string, { value: number; line: number; column: string }>();
  return (r) => {
    const features = new Map<string, Feature>();
    for (const input of inputs) {
      if (!(input.name in r.values)) {
        const cols = Object.keys(r.values).join(', ');
        throw new DataError(file, r.line, `no column "${input.name}" for the model input "${input.name}" ${show(input.shape ?? [])} (columns here: ${cols})`);
      }
      // Preprocessed images arrive as float32 pixels already.
      const value = r.values[input.name];
      const flat: { dims: number[]; values: ArrayLike<number> } | string = value instanceof PixelValues ? { dims: [...value.dims], values: value.data } : flatten(value);
      if (typeof flat === 'string') throw new DataError(file, r.line, `column "${input.name}" ${flat}`);
      const expected = input.shape?.slice(1);
      let dims = flat.dims;
      if (expected) {
        // A bare number feeds a per-sample shape of one element ([batch] or [batch, 1]).
        if (dims.length === 0 && expected.every((d) => d === 1)) dims = expected as number[];
        const mismatch = dims.length !== expected.length || expected.some((d, i) => typeof d === 'number' && d !== dims[i]);
        if (mismatch) {
          throw new DataError(file, r.line, `column "${input.name}" has shape ${show(dims)} per sample, but the model input "${input.name}" ` +
            `${show(input.shape ?? [])} expects ${show(expected)}`);
        }
        expected.forEach((d, i) => {
          // Padded inputs (token ids) get one length per batch in collate.
          if (typeof d === 'number' || padding?.values.has(input.name)) return;
          const seen = symbolValues.get(d);
          if (!seen) symbolValues.set(d, { value: dims[i], line: r.line, column: input.name });
          else if (seen.value !== dims[i]) {
            throw new DataError(file, r.line, `column "${input.name}" has ${dims[i]} along "${d}", but line ${seen.line} ("${seen.column}") has ${seen.value}; ` +
              'samples are stacked without padding, so they need one length');
          }
        });
      }
      const data = allocate(input.type, flat.values.length);
      if (input.type === DataType.INT64 || input.type === DataType.UINT64) {
        for (let i = 0; i < flat.values.length; i++) {
          const v = flat.values[i];
          if (!Number.isInteger(v)) throw new DataError(file, r.line, `column "${input.name}" feeds ${typeName(input.type)} but holds ${v}`);
          (data as BigInt64Array)[i] = BigInt(v);
        }
      } else {
        (data as Float32Array).set(flat.values);
        // A value beyond float32's range (about 3.4e38) becomes infinite when stored.
        const over = (data as Float32Array).findIndex((x) => !Number.isFinite(x));
        if (over >= 0) throw new DataError(file, r.line, `column "${input.name}" holds ${flat.values[over]}, beyond the range of ${typeName(input.type)} (a value too large)`);
      }
      features.set(input.name, { dims, data });
    }
    const label = labels ? labelOf(r, file, labels) : undefined;
    if (label === undefined && requireLabels) {
      throw new DataError(file, r.line, labels?.task === 'question-answering' ? 'no "start_positions" and "end_positions" values' : 'no "labels" (or "label") value');
    }
    const wordIds = Array.isArray(r.values.word_ids) ? (r.values.word_ids as (number | null)[]) : undefined;
    return { line: r.line, features, label, wordIds, qa: r.values.qa as QaText | undefined, ...(r.image ? { image: r.image } : {}) };
  };
}

/**
 * Builds the data set of a record source for the graph inputs, every record checked first.
 * In-memory sources keep their examples; streaming sources are read (and `transform`ed, e.g.
 * tokenized) again on each access, keeping only the class ids in memory.
 */
export function buildDataset(source: RecordSource, inputs: readonly ValueInfo[], labels: LabelSpec | undefined, requireLabels: boolean,
  padding?: PaddingSpec, transform: (r: DataRecord) => DataRecord = (r) => r): Dataset {
  const file = source.file;
  const convert = converter(file, inputs, labels, requireLabels, padding);
  const single = labels?.problemType === 'single_label_classification' && (labels.task ?? 'text-classification') === 'text-classification';
  const classIds = single ? new Int32Array(source.count) : undefined;
  const kept: Example[] = [];
  let labelled = 0;
  let unlabelledLine: number | undefined;
  let i = 0;
  for (const r of source.scan()) {
    const e = convert(transform(r));
    if (e.label !== undefined) labelled++;
    else unlabelledLine ??= e.line;
    if (classIds) classIds[i] = e.label === undefined ? -1 : (e.label as number);
    if (!source.streaming) kept.push(e);
    i++;
  }
  if (labelled > 0 && labelled < source.count) throw new DataError(file, unlabelledLine, 'this record has no label, but others do');
  const example = source.streaming ? (k: number) => convert(transform(source.read(k))) : (k: number) => kept[k];
  return { file, size: source.count, example, hasLabels: labelled > 0, padding, classIds };
}

/**
 * Class ids of a training set must cover 0..num_labels-1: a class that never occurs means the
 * labels are not the contiguous ids the model's outputs stand for.
 */
export function checkContiguousLabels(data: Dataset, numLabels: number): void {
  const seen = new Set(data.classIds ?? []);
  const missing = Array.from({ length: numLabels }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) {
    throw new DataError(data.file, undefined, `labels are not contiguous: class id${missing.length > 1 ? 's' : ''} ${missing.join(', ')} never occur${missing.length > 1 ? '' : 's'}, ` +
      `but num_labels is ${numLabels} (labels must be 0 to ${numLabels - 1}, or text names)`);
  }
}
