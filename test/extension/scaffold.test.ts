// New configs from the field tables, and the walkthrough's example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeConfig } from '../../src/extension/configFiles';
import { TEMPLATES, exampleFiles, scaffoldConfig, twoMoons } from '../../src/extension/scaffold';
import { DATA_FIELDS, MODEL_FIELDS } from '../../src/trainer/config/config';
import { TRAINING_FIELDS } from '../../src/trainer/config/trainingArguments';

test('every template is a valid config', () => {
  for (const t of TEMPLATES) {
    const s = summarizeConfig('/w/trainer.yaml', scaffoldConfig(t.id));
    assert.equal(s.problem, undefined, `${t.id}: ${s.problem?.message}`);
  }
});

test('a new config lists every key of every section with its documentation', () => {
  const text = scaffoldConfig('mlp');
  for (const [name, f] of Object.entries({ ...MODEL_FIELDS, ...DATA_FIELDS, ...TRAINING_FIELDS })) {
    assert.match(text, new RegExp(`^ {2}(# )?${name}:`, 'm'), name);
    assert.ok(text.includes(`# ${f.doc}`), `${name}'s doc`);
  }
  assert.match(text, /^ {2}# weight_decay: 0$/m, 'unset keys are commented out with their defaults');
  assert.match(text, /^ {2}learning_rate: 0\.001$/m);
});

test('the example is a valid config with data for it, the same on every machine', () => {
  const files = exampleFiles();
  assert.deepEqual(Object.keys(files).sort(), ['eval.jsonl', 'train.jsonl', 'trainer.yaml']);
  assert.equal(summarizeConfig('/w/trainer-example/trainer.yaml', files['trainer.yaml']).problem, undefined);
  const rows = files['train.jsonl'].trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 800);
  assert.deepEqual(Object.keys(rows[0]), ['features', 'labels']);
  assert.equal(rows[0].features.length, 2);
  assert.deepEqual(new Set(rows.map((r) => r.labels)), new Set([0, 1]));
  assert.equal(twoMoons(50, 7), twoMoons(50, 7));
  assert.notEqual(twoMoons(50, 7), twoMoons(50, 8));
});
