// Bad input: each mistake gets exit code 2 and one clear message naming the file and the key or
// line, with no stack trace, and nothing is written to output_dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, copyFixture, runCli, tempDir, writeConfig } from '../helpers';

function baseConfig() {
  return {
    model: { path: 'model.onnx', problem_type: 'single_label_classification', num_labels: 3 },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 8, logging_steps: 1 },
  };
}

/** Runs `train` on a copy of the MLP fixture after `edit` spoils it; checks the contract. */
function expectRejected(edit: (dir: string, config: ReturnType<typeof baseConfig>) => unknown, ...patterns: RegExp[]) {
  const dir = tempDir('bad');
  copyFixture(path.join(FIXTURES, 'parity', 'mlp'), dir);
  const config = baseConfig();
  const replaced = edit(dir, config);
  const file = typeof replaced === 'string' ? replaced : writeConfig(dir, config);
  const r = runCli(['train', file]);
  assert.equal(r.code, 2, `exit code 2 expected, got ${r.code}: ${r.stderr}`);
  const message = r.stderr.trim();
  assert.equal(message.split('\n').length, 1, `one line expected:\n${message}`);
  assert.doesNotMatch(message, /\n\s+at /, 'no stack trace');
  for (const p of patterns) assert.match(message, p);
  assert.equal(fs.existsSync(path.join(dir, 'out')), false, 'nothing may be written to output_dir');
  return message;
}

test('an unknown key names the file, the line and the nearest valid key', () => {
  expectRejected((_d, c) => {
    (c.training as Record<string, unknown>).learning_rat = 0.1;
  }, /trainer\.yaml:\d+: training\.learning_rat: unknown key; did you mean "learning_rate"\?/);
});

test('an unknown top-level key suggests the section meant', () => {
  expectRejected((_d, c) => {
    (c as Record<string, unknown>).trainig = {};
  }, /trainer\.yaml:\d+: trainig: unknown key; did you mean "training"\?/);
});

test('a value of the wrong type names the key, the line and the expected type', () => {
  const msg = expectRejected((_d, c) => {
    (c.training as Record<string, unknown>).per_device_train_batch_size = 'big';
  }, /training\.per_device_train_batch_size: expected an integer ≥ 1, got "big"/);
  const line = Number(/trainer\.yaml:(\d+):/.exec(msg)![1]);
  assert.ok(line > 1);
});

test('an enum value with a typo suggests the valid one', () => {
  expectRejected((_d, c) => {
    (c.training as Record<string, unknown>).lr_scheduler_type = 'cosin';
  }, /training\.lr_scheduler_type: expected one of .*did you mean "cosine"\?/);
});

test('a missing model file names model.path', () => {
  expectRejected((_d, c) => {
    c.model.path = 'nope.onnx';
  }, /trainer\.yaml:\d+: model\.path: model file not found: .*nope\.onnx/);
});

test('a missing data file names data.train', () => {
  expectRejected((_d, c) => {
    c.data.train = 'missing.jsonl';
  }, /trainer\.yaml:\d+: data\.train: file not found: .*missing\.jsonl/);
});

test('a missing config file is named', () => {
  expectRejected((dir) => path.join(dir, 'absent.yaml'), /absent\.yaml: cannot read the config file/);
});

test('invalid YAML names the line', () => {
  expectRejected((dir) => {
    const file = path.join(dir, 'trainer.yaml');
    fs.writeFileSync(file, 'model:\n  path: model.onnx\ntraining: [unclosed\n');
    return file;
  }, /trainer\.yaml:\d+: not valid YAML/);
});

test('a label out of range for num_labels names the data line', () => {
  expectRejected((dir) => {
    const file = path.join(dir, 'train.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const rec = JSON.parse(lines[3]);
    rec.labels = 7;
    lines[3] = JSON.stringify(rec);
    fs.writeFileSync(file, lines.join('\n') + '\n');
  }, /train\.jsonl:4: label 7: out of range for num_labels 3 \(expected 0 to 2\)/);
});

test('a data column missing for a graph input names the input and the line', () => {
  expectRejected((dir) => {
    const file = path.join(dir, 'train.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
      const rec = JSON.parse(l);
      rec.feature = rec.features;
      delete rec.features;
      return JSON.stringify(rec);
    });
    fs.writeFileSync(file, lines.join('\n') + '\n');
  }, /train\.jsonl:1: no column "features" for the model input "features" \[batch, 20\]/);
});

test('a sample whose shape does not match the model input names the line and both shapes', () => {
  expectRejected((dir) => {
    const file = path.join(dir, 'train.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const rec = JSON.parse(lines[5]);
    rec.features = rec.features.slice(1);
    lines[5] = JSON.stringify(rec);
    fs.writeFileSync(file, lines.join('\n') + '\n');
  }, /train\.jsonl:6: column "features" has shape \[19\] per sample, but the model input "features" \[batch, 20\] expects \[20\]/);
});

test('a data file that is not JSON lines names the line', () => {
  expectRejected((dir) => {
    fs.appendFileSync(path.join(dir, 'train.jsonl'), '{"features": [1, 2\n');
  }, /train\.jsonl:\d+: not valid JSON/);
});

test('an eval strategy without eval data is refused', () => {
  expectRejected((_d, c) => {
    (c.training as Record<string, unknown>).eval_strategy = 'steps';
  }, /training\.eval_strategy: is "steps" but there is no evaluation data \(data\.eval\)/);
});

test('load_best_model_at_end with mismatched strategies follows Hugging Face\'s rule', () => {
  expectRejected((_d, c) => {
    Object.assign(c.training, { load_best_model_at_end: true, eval_strategy: 'epoch', save_strategy: 'steps' });
    (c.data as Record<string, string>).eval = 'train.jsonl';
  }, /training\.load_best_model_at_end: needs eval_strategy and save_strategy to match/);
});

test('metric_for_best_model naming a metric that is never computed is refused', () => {
  expectRejected((_d, c) => {
    Object.assign(c.training, { metric_for_best_model: 'bleu', eval_strategy: 'steps', eval_steps: 1 });
    (c.data as Record<string, string>).eval = 'train.jsonl';
  }, /training\.metric_for_best_model: "bleu" is never computed; evaluations report loss, accuracy/);
});

test('asking for CUDA where its provider is not installed is a clear error, not a fallback', () => {
  expectRejected((_d, c) => {
    (c as Record<string, unknown>).device = 'cuda';
  }, /device: cuda was requested, but onnxruntime-node's CUDA provider is not installed/);
});

test('a model that is not ONNX is named', () => {
  expectRejected((dir) => {
    fs.writeFileSync(path.join(dir, 'model.onnx'), 'not a model');
  }, /model\.onnx is not a valid ONNX model/);
});
