// The config's JSON Schema (for editors) is generated from the same field tables that validate
// configs: every TrainingArguments field is in it, and the shipped examples validate against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { configSchema } from '../../src/trainer/config/config';
import { TRAINING_FIELDS } from '../../src/trainer/config/trainingArguments';
import { ROOT } from '../helpers';

const schema = configSchema();
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

test('the schema lists every TrainingArguments field with its default and documentation', () => {
  const training = (schema.properties as Record<string, { properties: Record<string, { description: string; default?: unknown }> }>).training;
  for (const [name, field] of Object.entries(TRAINING_FIELDS)) {
    assert.ok(training.properties[name], name);
    assert.equal(training.properties[name].description, field.doc);
    if (field.default !== undefined) assert.deepEqual(training.properties[name].default, field.default);
  }
  assert.ok(training.properties.evaluation_strategy, 'the old name is listed too');
});

for (const example of ['digits', 'digits-folder', 'sentiment', 'paraphrase', 'ner', 'story', 'cloze', 'qa']) {
  test(`the ${example} example's config validates against the schema`, () => {
    const config = parse(fs.readFileSync(path.join(ROOT, 'examples', example, 'trainer.yaml'), 'utf8'));
    assert.ok(validate(config), JSON.stringify(validate.errors));
  });
}

test('a typo in a key fails schema validation, as it fails the CLI', () => {
  assert.equal(validate({ model: { path: 'm.onnx' }, training: { learning_rat: 0.1 } }), false);
  assert.equal(validate({ model: { path: 'm.onnx' }, training: { eval_strategy: 'sometimes' } }), false);
});
