// New configs written from the engine's field tables (the same tables the JSON Schema comes
// from): every key appears with its documentation, the ones a template sets as values and the
// rest commented out with their defaults. Also the walkthrough's example: a config plus a small
// generated data set, so a first run needs nothing from the network. No `vscode` here.

import { stringify } from 'yaml';
import { DATA_FIELDS, MODEL_FIELDS, TOP_FIELDS } from '../trainer/config/config';
import { Section } from '../trainer/config/fields';
import { TRAINING_FIELDS } from '../trainer/config/trainingArguments';

export type Template = 'mlp' | 'cnn' | 'onnx';

export const TEMPLATES: { id: Template; label: string; detail: string }[] = [
  { id: 'mlp', label: 'Built-in MLP', detail: 'A multi-layer perceptron on feature vectors (a `features` column in JSONL, JSON or CSV)' },
  { id: 'cnn', label: 'Built-in CNN', detail: 'A small convolutional network on images (a `pixel_values` column, [channels][height][width])' },
  { id: 'onnx', label: 'My ONNX model', detail: 'Fine-tune an ONNX file; its float initializers are the trainable parameters' },
];

type Values = Record<string, unknown>;

const MODEL_VALUES: Record<Template, Values> = {
  mlp: { builtin: 'mlp', hidden_sizes: [64], num_labels: 2 },
  cnn: { builtin: 'cnn', channels: [16, 32], num_labels: 10 },
  onnx: { path: 'model.onnx', problem_type: 'single_label_classification', num_labels: 2 },
};

const TRAINING_VALUES: Values = {
  output_dir: 'out',
  num_train_epochs: 3,
  per_device_train_batch_size: 16,
  learning_rate: 1.0e-3,
  logging_steps: 10,
  eval_strategy: 'epoch',
  save_strategy: 'epoch',
  save_total_limit: 3,
  load_best_model_at_end: true,
  metric_for_best_model: 'accuracy',
};

function inline(v: unknown): string {
  return stringify(v, { flow: true }).trim();
}

function section(name: string, fields: Section, values: Values, indent = '  '): string[] {
  const out = [`${name}:`];
  for (const [key, f] of Object.entries(fields)) {
    out.push(`${indent}# ${f.doc}`);
    if (key in values) out.push(`${indent}${key}: ${inline(values[key])}`);
    else out.push(`${indent}# ${key}: ${f.default === undefined ? '' : inline(f.default)}`.trimEnd());
  }
  return out;
}

/** A commented config for a template: the template's keys set, every other key documented. */
export function scaffoldConfig(template: Template, data: { train: string; eval: string } = { train: 'train.jsonl', eval: 'eval.jsonl' }): string {
  const lines = [
    '# Trainer config. Every key the engine knows is listed with its documentation; hover a key for',
    '# more. Start training with the "▶ Start Training" lens above, or: npx onnx-trainer train <this file>',
    ...section('model', MODEL_FIELDS, MODEL_VALUES[template]),
    ...section('data', DATA_FIELDS, data),
    `# ${TOP_FIELDS.device.doc}`,
    `device: ${inline(TOP_FIELDS.device.default)}`,
    `# ${TOP_FIELDS.metrics.doc}`,
    '# metrics: [accuracy, f1]',
    '# Hugging Face TrainingArguments: same names, defaults and meaning.',
    ...section('training', TRAINING_FIELDS, TRAINING_VALUES),
  ];
  return lines.join('\n') + '\n';
}

/** A deterministic pseudo-random generator (mulberry32), so the example data is the same everywhere. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** "Two moons": two interleaved half circles with noise, a classic small classification task, as JSONL. */
export function twoMoons(n: number, seed: number): string {
  const rand = random(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const t = Math.PI * rand();
    const x = label === 0 ? Math.cos(t) : 1 - Math.cos(t);
    const y = label === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    const noise = () => (rand() - 0.5) * 0.3;
    const features = [x + noise(), y + noise()].map((v) => Math.round(v * 1e4) / 1e4);
    lines.push(JSON.stringify({ features, labels: label }));
  }
  return lines.join('\n') + '\n';
}

/** The walkthrough's example: files to write, relative to a new folder. */
export function exampleFiles(): Record<string, string> {
  const config = [
    '# Example: a built-in MLP learns to separate two interleaved half circles ("two moons").',
    '# Start it with the "▶ Start Training" lens above. Hover any key for its documentation;',
    '# "Trainer: New Training Config" writes a config that lists every key.',
    'model:',
    '  builtin: mlp',
    '  hidden_sizes: [32, 32]',
    '  num_labels: 2',
    'data:',
    '  train: train.jsonl',
    '  eval: eval.jsonl',
    'training:',
    '  output_dir: out',
    '  num_train_epochs: 40',
    '  per_device_train_batch_size: 16',
    '  learning_rate: 5.0e-3',
    '  lr_scheduler_type: cosine',
    '  logging_steps: 10',
    '  eval_strategy: epoch',
    '  save_strategy: epoch',
    '  save_total_limit: 3',
    '  load_best_model_at_end: true',
    '  metric_for_best_model: accuracy',
    '',
  ].join('\n');
  return { 'trainer.yaml': config, 'train.jsonl': twoMoons(800, 1), 'eval.jsonl': twoMoons(200, 2) };
}
