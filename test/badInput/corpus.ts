// The bad-input corpus as tables: each case spoils one thing in a copy of a small working
// project (the MLP fixture: model.onnx, train.jsonl, trainer.yaml) and says which file the
// one-line refusal must name. Config cases are generated from the field tables themselves, so
// every key of every section is tried with a value of the wrong type and with a typo.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATA_FIELDS, MODEL_FIELDS, TOP_FIELDS } from '../../src/trainer/config/config';
import { IMAGE_FIELDS } from '../../src/trainer/config/imageFields';
import { FieldType, Section } from '../../src/trainer/config/fields';
import { TRAINING_FIELDS } from '../../src/trainer/config/trainingArguments';

export interface Config {
  model: Record<string, unknown>;
  data: Record<string, unknown>;
  training: Record<string, unknown>;
  [key: string]: unknown;
}

export interface BadInput {
  name: string;
  /** Spoils the project in `dir`; may edit the config object, which is written afterwards. */
  spoil: (dir: string, config: Config) => void;
  /** The CLI arguments after the command (default: the config file). */
  args?: (dir: string) => string[];
  command?: 'train' | 'evaluate' | 'predict' | 'export';
  /** Start from a project that holds a trained run (checkpoint-1, checkpoint-2) and other.safetensors, weights of another model. */
  trained?: boolean;
  /** A file name the message must contain. */
  names: string;
  /** More the message must say. */
  says?: RegExp;
}

export function baseConfig(): Config {
  return {
    model: { path: 'model.onnx', problem_type: 'single_label_classification', num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 8, logging_steps: 1, save_steps: 1, report_to: 'none' },
  };
}

/** Whether a YAML value has the field's type (shape only; ranges are left to other cases). */
function accepts(ft: FieldType, v: unknown): boolean {
  switch (ft.kind) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number';
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'enum': return ft.values.includes(v as string);
    case 'null': return v === null;
    case 'array': return Array.isArray(v) && v.every((x) => accepts(ft.items, x));
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'union': return ft.of.some((f) => accepts(f, v));
  }
}

/** A value the field's type refuses. */
function wrongValue(ft: FieldType): unknown {
  return ['no-such-value', { nested: [1] }, 12.5].find((v) => !accepts(ft, v));
}

function section(name: string, fields: Section, typoEvery: number): BadInput[] {
  const out: BadInput[] = [];
  Object.entries(fields).forEach(([key, field], i) => {
    // A nested section (data.image) is reached key by key.
    const at = (c: Config) => (name === '' ? c : name.split('.').reduce((o: Record<string, unknown>, k) => (o[k] ??= {}) as Record<string, unknown>, c)) as Record<string, unknown>;
    const full = name ? `${name}.${key}` : key;
    out.push({
      name: `${full} with a value of the wrong type`,
      spoil: (_d, c) => {
        at(c)[key] = wrongValue(field.type);
      },
      names: 'trainer.yaml',
      says: new RegExp(`trainer\\.yaml:\\d+: ${full.replaceAll('.', '\\.')}: expected`),
    });
    if (i % typoEvery === 0 && key.length > 3) {
      out.push({
        name: `${full} misspelt`,
        spoil: (_d, c) => {
          at(c)[key.slice(0, -1)] = at(c)[key] ?? 1;
          delete at(c)[key];
        },
        names: 'trainer.yaml',
        says: /unknown key/,
      });
    }
  });
  return out;
}

const configFields: BadInput[] = [
  ...section('training', TRAINING_FIELDS, 3),
  ...section('model', Object.fromEntries(Object.entries(MODEL_FIELDS).filter(([k]) => k !== 'builtin')), 3),
  ...section('data', DATA_FIELDS, 2),
  ...section('data.image', IMAGE_FIELDS, 3),
  ...section('', Object.fromEntries(Object.entries(TOP_FIELDS).filter(([k]) => !['model'].includes(k))), 1),
];

function writeRaw(dir: string, text: string | Buffer): void {
  fs.writeFileSync(path.join(dir, 'trainer.yaml'), text);
}

/** Marks a config case whose file is written raw: the config object is ignored. */
const RAW = '__raw__';

const configFile: BadInput[] = [
  { name: 'a binary config file', spoil: (d, c) => { c[RAW] = true; writeRaw(d, Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37) % 256))); }, names: 'trainer.yaml', says: /not a text file/ },
  { name: 'a YAML alias bomb', spoil: (d, c) => {
    c[RAW] = true;
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    writeRaw(d, `${lines.join('\n')}\nmodel: { path: model.onnx }\n`);
  }, names: 'trainer.yaml', says: /alias/i },
  { name: 'an empty config file', spoil: (d, c) => { c[RAW] = true; writeRaw(d, ''); }, names: 'trainer.yaml' },
  { name: 'a config that is a list', spoil: (d, c) => { c[RAW] = true; writeRaw(d, '- model\n- data\n'); }, names: 'trainer.yaml' },
  { name: 'invalid YAML', spoil: (d, c) => { c[RAW] = true; writeRaw(d, 'model: [unclosed\n'); }, names: 'trainer.yaml', says: /not valid YAML/ },
  { name: 'duplicate keys', spoil: (d, c) => { c[RAW] = true; writeRaw(d, 'model: { path: model.onnx }\nmodel: { path: model.onnx }\n'); }, names: 'trainer.yaml' },
  { name: 'a config file that does not exist', spoil: () => {}, args: (d) => [path.join(d, 'absent.yaml')], names: 'absent.yaml' },
  { name: 'a config path that is a folder', spoil: (d) => fs.mkdirSync(path.join(d, 'folder.yaml')), args: (d) => [path.join(d, 'folder.yaml')], names: 'folder.yaml' },
  { name: 'max_steps: 0', spoil: (_d, c) => { c.training.max_steps = 0; }, names: 'trainer.yaml', says: /max_steps: is 0/ },
  { name: 'num_train_epochs: 0', spoil: (_d, c) => { delete c.training.max_steps; c.training.num_train_epochs = 0; }, names: 'trainer.yaml', says: /num_train_epochs: is 0/ },
  { name: 'save_steps: 0 with save_strategy steps', spoil: (_d, c) => { c.training.save_steps = 0; }, names: 'trainer.yaml', says: /save_steps: is 0/ },
  { name: 'an empty output_dir', spoil: (_d, c) => { c.training.output_dir = ''; }, names: 'trainer.yaml', says: /output_dir: must not be empty/ },
  { name: 'an output_dir that is a file', spoil: (d, c) => { fs.writeFileSync(path.join(d, 'taken'), 'x'); c.training.output_dir = 'taken'; }, names: 'trainer.yaml', says: /output_dir: .*taken is a file/ },
  { name: 'an output_dir below a file', spoil: (d, c) => { fs.writeFileSync(path.join(d, 'taken'), 'x'); c.training.output_dir = 'taken/out'; }, names: 'trainer.yaml', says: /output_dir: .*is a file/ },
  { name: 'an output_dir with an over-long name', spoil: (_d, c) => { c.training.output_dir = 'o'.repeat(300); }, names: 'trainer.yaml', says: /too long/ },
  { name: 'data.train that is a folder', spoil: (d, c) => { fs.mkdirSync(path.join(d, 'folder.jsonl')); c.data.train = 'folder.jsonl'; }, names: 'trainer.yaml', says: /data\.train: .*is a folder/ },
  { name: 'a missing data file', spoil: (_d, c) => { c.data.train = 'missing.jsonl'; }, names: 'trainer.yaml', says: /data\.train: file not found/ },
  { name: 'an unsupported data format', spoil: (d, c) => { fs.writeFileSync(path.join(d, 'train.txt'), 'x'); c.data.train = 'train.txt'; }, names: 'train.txt' },
  { name: 'an eval strategy without eval data', spoil: (_d, c) => { c.training.eval_strategy = 'steps'; }, names: 'trainer.yaml' },
  { name: 'a learning rate below zero', spoil: (_d, c) => { c.training.learning_rate = -1; }, names: 'trainer.yaml' },
  { name: 'fp16 and bf16 together', spoil: (_d, c) => { Object.assign(c.training, { fp16: true, bf16: true }); }, names: 'trainer.yaml' },
  { name: 'a callback module that does not exist', spoil: (_d, c) => { c.callbacks = ['nope.js']; }, names: 'trainer.yaml' },
];

/** Replaces line `n` (1-based) of train.jsonl with `edit(record)`. */
function editLine(dir: string, n: number, edit: (rec: Record<string, unknown>) => unknown): void {
  const file = path.join(dir, 'train.jsonl');
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const out = edit(JSON.parse(lines[n - 1]));
  lines[n - 1] = typeof out === 'string' ? out : JSON.stringify(out);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

const features = (rec: Record<string, unknown>) => rec.features as unknown[];

const dataCases: [string, (rec: Record<string, unknown>) => unknown, RegExp?][] = [
  ['a feature of 1e400 (Infinity)', (r) => JSON.stringify(r).replace(/("features":\[)[^,]+/, '$11e400'), /not a finite number/],
  ['a feature beyond float32 (1e39)', (r) => ({ ...r, features: [1e39, ...features(r).slice(1)] }), /beyond the range/],
  ['a label true', (r) => ({ ...r, labels: true }), /true\/false is not a label/],
  ['a label false', (r) => ({ ...r, labels: false }), /true\/false is not a label/],
  ['a label out of range', (r) => ({ ...r, labels: 7 })],
  ['a negative label', (r) => ({ ...r, labels: -1 })],
  ['a fractional label', (r) => ({ ...r, labels: 1.5 })],
  ['a label that is a list', (r) => ({ ...r, labels: [1] })],
  ['a label that is an object', (r) => ({ ...r, labels: { id: 1 } })],
  ['features too short', (r) => ({ ...r, features: features(r).slice(1) })],
  ['features nested one level too deep', (r) => ({ ...r, features: [features(r)] })],
  ['features as text', (r) => ({ ...r, features: 'one two three' })],
  ['features with a null', (r) => ({ ...r, features: [null, ...features(r).slice(1)] })],
  ['features with text inside', (r) => ({ ...r, features: ['x', ...features(r).slice(1)] })],
  ['a ragged features array', (r) => ({ ...r, features: [[1, 2], [3], ...features(r).slice(3)] })],
  ['no features column', (r) => ({ labels: r.labels })],
  ['no label on one line', (r) => ({ features: r.features })],
  ['a line that is not JSON', () => '{"features": [1, 2'],
  ['a line that is a JSON array', () => '[1, 2, 3]'],
  ['a line that is null', () => 'null'],
  ['a NaN literal', (r) => JSON.stringify(r).replace(/("features":\[)[^,]+/, '$1NaN')],
];

const dataFiles: BadInput[] = [
  ...dataCases.map(([name, edit, says], i): BadInput => ({ name: `train.jsonl with ${name}`, spoil: (d) => editLine(d, 2 + (i % 5), edit), names: 'train.jsonl', says })),
  { name: 'an empty data file', spoil: (d) => fs.writeFileSync(path.join(d, 'train.jsonl'), ''), names: 'train.jsonl' },
  { name: 'a binary data file', spoil: (d) => fs.writeFileSync(path.join(d, 'train.jsonl'), Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 53) % 256))), names: 'train.jsonl' },
  { name: 'a CSV row with too many fields', spoil: (d, c) => { fs.writeFileSync(path.join(d, 'train.csv'), 'features,labels\n"[1,2]",1,9\n'); c.data.train = 'train.csv'; }, names: 'train.csv' },
  { name: 'an image folder with a corrupt PNG', spoil: (d, c) => {
    fs.mkdirSync(path.join(d, 'images', 'cat'), { recursive: true });
    fs.writeFileSync(path.join(d, 'images', 'cat', 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
    c.data.train = 'images';
  }, names: 'broken.png', says: /not a valid image/ },
  { name: 'a JSON data file that is an object of scalars', spoil: (d, c) => { fs.writeFileSync(path.join(d, 'train.json'), '{"a": 1}'); c.data.train = 'train.json'; }, names: 'train.json' },
];

const modelCases: BadInput[] = [
  { name: 'a model file that is text', spoil: (d) => fs.writeFileSync(path.join(d, 'model.onnx'), 'not a model'), names: 'model.onnx' },
  { name: 'an empty model file', spoil: (d) => fs.writeFileSync(path.join(d, 'model.onnx'), ''), names: 'model.onnx' },
  { name: 'a truncated model file', spoil: (d) => { const f = path.join(d, 'model.onnx'); fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 200)); }, names: 'model.onnx' },
  { name: 'a missing model file', spoil: (_d, c) => { c.model.path = 'nope.onnx'; }, names: 'trainer.yaml' },
  { name: 'num_labels larger than the model\'s outputs', spoil: (_d, c) => { c.model.num_labels = 5; }, names: 'trainer.yaml', says: /num_labels: is 5, but model\.onnx's output/ },
  { name: 'an output name the model does not have', spoil: (_d, c) => { c.model.output = 'nope'; }, names: 'model.onnx' },
  { name: 'freezing a tensor the model does not have', spoil: (_d, c) => { c.model.freeze = ['nope']; }, names: 'trainer.yaml' },
  ...modelFolderCases(),
];

/** A Hugging Face-style model folder whose config.json is spoilt. */
function modelFolderCases(): BadInput[] {
  const folder = (card: string) => (d: string, c: Config) => {
    fs.mkdirSync(path.join(d, 'hf'));
    fs.renameSync(path.join(d, 'model.onnx'), path.join(d, 'hf', 'model.onnx'));
    fs.writeFileSync(path.join(d, 'hf', 'config.json'), card);
    c.model = { path: 'hf' };
  };
  return [
    { name: 'a model folder whose config.json has a bad problem_type', spoil: folder('{"num_labels": 3, "problem_type": "ranking"}'), names: 'config.json', says: /problem_type: expected one of/ },
    { name: 'a model folder whose config.json has num_labels as text', spoil: folder('{"num_labels": "3"}'), names: 'config.json', says: /num_labels: expected an integer/ },
    { name: 'a model folder whose config.json is null', spoil: folder('null'), names: 'config.json' },
    { name: 'a model folder whose config.json is not JSON', spoil: folder('{num_labels: 3'), names: 'config.json' },
    { name: 'a model folder whose config.json has id2label as a list', spoil: folder('{"num_labels": 3, "id2label": ["a", "b", "c"]}'), names: 'config.json' },
    { name: 'a model folder without model.onnx', spoil: (d, c) => { fs.mkdirSync(path.join(d, 'empty')); c.model = { path: 'empty' }; }, names: 'trainer.yaml' },
  ];
}

/** Spoils checkpoint-2's `file` with `text`. */
const inCheckpoint = (file: string, text: string | ((old: Buffer) => Buffer | string)) => (d: string) => {
  const f = path.join(d, 'out', 'checkpoint-2', file);
  fs.writeFileSync(f, typeof text === 'string' ? text : text(fs.readFileSync(f)));
};
const resume = (d: string) => [path.join(d, 'trainer.yaml'), '--resume'];

const checkpointCases: BadInput[] = [
  ...[
    ['null', 'null'],
    ['a list', '[]'],
    ['global_step "abc"', '{"global_step": "abc", "log_history": []}'],
    ['a negative global_step', '{"global_step": -3, "log_history": []}'],
    ['log_history an object', '{"global_step": 2, "log_history": {"loss": 1}}'],
    ['log_history holding a number', '{"global_step": 2, "log_history": [1]}'],
    ['best_metric text', '{"global_step": 2, "log_history": [], "best_metric": "high"}'],
    ['not JSON', '{"global_step": 2,'],
  ].map(([what, text]): BadInput => ({ name: `a checkpoint whose trainer_state.json is ${what}`, trained: true, spoil: inCheckpoint('trainer_state.json', text), args: resume, names: 'trainer_state.json' })),
  { name: 'a checkpoint whose scheduler.json is null', trained: true, spoil: inCheckpoint('scheduler.json', 'null'), args: resume, names: 'scheduler.json' },
  { name: 'a checkpoint whose rng_state.json lacks its seed', trained: true, spoil: inCheckpoint('rng_state.json', '{}'), args: resume, names: 'rng_state.json' },
  { name: 'a checkpoint with truncated weights', trained: true, spoil: inCheckpoint('model.safetensors', (b) => b.subarray(0, 100)), args: resume, names: 'model.safetensors' },
  { name: 'a checkpoint with truncated optimizer state', trained: true, spoil: inCheckpoint('optimizer.safetensors', (b) => b.subarray(0, 100)), args: resume, names: 'optimizer.safetensors' },
  { name: 'a checkpoint without optimizer state', trained: true, spoil: (d) => fs.rmSync(path.join(d, 'out', 'checkpoint-2', 'optimizer.safetensors')), args: (d) => [...resume(d).slice(0, 1), '--resume', path.join(d, 'out', 'checkpoint-2')], names: 'optimizer.safetensors' },
  { name: 'resuming from a checkpoint folder that does not exist', trained: true, spoil: () => {}, args: (d) => [path.join(d, 'trainer.yaml'), '--resume', path.join(d, 'out', 'checkpoint-99')], names: 'checkpoint-99' },
  { name: 'evaluating a checkpoint of another model', trained: true, command: 'evaluate', spoil: (d, c) => {
    c.data.eval = 'train.jsonl';
    fs.copyFileSync(path.join(d, 'other.safetensors'), path.join(d, 'out', 'checkpoint-2', 'model.safetensors'));
  }, args: (d) => [path.join(d, 'trainer.yaml'), '--checkpoint', path.join(d, 'out', 'checkpoint-2')], names: 'model.safetensors', says: /different model/ },
  { name: 'a new run in an output_dir holding an earlier run', trained: true, spoil: () => {}, names: 'trainer.yaml', says: /already holds a run/ },
];

export const CORPUS: BadInput[] = [...configFields, ...configFile, ...dataFiles, ...modelCases, ...checkpointCases];
export { RAW };
