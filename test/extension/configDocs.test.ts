// Hover documentation from the engine's field tables, and where diagnostics underline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoverMarkdown, keyAt, lineSpan } from '../../src/extension/configDocs';
import { TRAINING_FIELDS } from '../../src/trainer/config/trainingArguments';

const TEXT = 'model:\n  builtin: mlp\ntraining:\n  learning_rate: 0.1\n  evaluation_strategy: epoch\n';

test('the key under the cursor is found with its path; values and blank space are not keys', () => {
  const at = (s: string, d = 1) => keyAt(TEXT, TEXT.indexOf(s) + d);
  assert.deepEqual(at('learning_rate')?.path, ['training', 'learning_rate']);
  assert.deepEqual(at('model')?.path, ['model']);
  assert.deepEqual(at('builtin')?.path, ['model', 'builtin']);
  assert.equal(at('0.1'), undefined);
  assert.equal(at('mlp'), undefined);
});

test('every TrainingArguments field has hover docs with its type and default, naming Hugging Face', () => {
  for (const name of Object.keys(TRAINING_FIELDS)) {
    const md = hoverMarkdown(['training', name]);
    assert.ok(md, name);
    assert.match(md, new RegExp(`\\*\\*training\\.${name}\\*\\*`));
    assert.match(md, /Hugging Face/);
  }
  assert.match(hoverMarkdown(['training', 'learning_rate'])!, /a number ≥ 0\n\nInitial \(peak\) learning rate\.\n\nDefault: `0\.00005`/);
});

test('old names hover with the current name', () => {
  assert.match(hoverMarkdown(['training', 'evaluation_strategy'])!, /\*\*training\.eval_strategy\*\*[\s\S]*`evaluation_strategy` is the old name of `eval_strategy`/);
});

test('model, data and top-level keys have docs; unknown keys have none', () => {
  assert.match(hoverMarkdown(['model', 'builtin'])!, /built-in architecture/);
  assert.match(hoverMarkdown(['data', 'train'])!, /Training data/);
  assert.match(hoverMarkdown(['data', 'image', 'image_mean'])!, /\*\*data\.image\.image_mean\*\*[\s\S]*Per-channel means/);
  assert.match(hoverMarkdown(['device'])!, /Execution provider/);
  assert.equal(hoverMarkdown(['training', 'learning_rat']), undefined);
  assert.equal(hoverMarkdown(['model', 'hidden_sizes', '0']), undefined);
});

test('diagnostics underline the key on the reported line, or the line text', () => {
  assert.deepEqual(lineSpan('  learning_rat: 0.1', 'training.learning_rat'), [2, 14]);
  assert.deepEqual(lineSpan('    "learning_rat": 0.1,', 'training.learning_rat'), [5, 17]);
  assert.deepEqual(lineSpan('  - 3', 'model.channels'), [2, 5]);
  assert.deepEqual(lineSpan('', undefined), [0, 1]);
});
