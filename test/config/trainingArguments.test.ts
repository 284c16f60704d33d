// TrainingArguments follow Hugging Face's derived defaults and validation rules (reference §1.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainingArguments } from '../../src/trainer/config/trainingArguments';

test('defaults are Hugging Face\'s', () => {
  const a = trainingArguments();
  assert.equal(a.learning_rate, 5e-5);
  assert.equal(a.num_train_epochs, 3);
  assert.equal(a.per_device_train_batch_size, 8);
  assert.equal(a.max_grad_norm, 1);
  assert.equal(a.lr_scheduler_type, 'linear');
  assert.equal(a.save_strategy, 'steps');
  assert.equal(a.save_steps, 500);
  assert.equal(a.logging_steps, 500);
  assert.equal(a.seed, 42);
  assert.equal(a.optim, 'adamw_torch');
});

test('eval_steps falls back to logging_steps with the steps strategy', () => {
  assert.equal(trainingArguments({ eval_strategy: 'steps', logging_steps: 7 }).eval_steps, 7);
});

test('load_best_model_at_end implies metric_for_best_model "loss", and loss metrics are lower-is-better', () => {
  const a = trainingArguments({ load_best_model_at_end: true, eval_strategy: 'steps', save_strategy: 'steps' });
  assert.equal(a.metric_for_best_model, 'loss');
  assert.equal(a.greater_is_better, false);
  assert.equal(trainingArguments({ metric_for_best_model: 'accuracy' }).greater_is_better, true);
});

test('step intervals above 1 must be whole numbers; below 1 they are ratios', () => {
  assert.throws(() => trainingArguments({ logging_steps: 2.5 }), /logging_steps: expected a whole number of steps or a ratio below 1, got 2\.5/);
  assert.equal(trainingArguments({ logging_steps: 0.25 }).logging_steps, 0.25);
});

test('with load_best_model_at_end, save_steps must be a multiple of eval_steps', () => {
  const base = { load_best_model_at_end: true, eval_strategy: 'steps', save_strategy: 'steps' };
  assert.throws(() => trainingArguments({ ...base, eval_steps: 3, save_steps: 10 }), /save_steps: must be a multiple of eval_steps \(3\)/);
  assert.doesNotThrow(() => trainingArguments({ ...base, eval_steps: 5, save_steps: 10 }));
  assert.throws(() => trainingArguments({ ...base, eval_steps: 0.1, save_steps: 50 }), /must be a multiple/);
  assert.doesNotThrow(() => trainingArguments({ ...base, eval_steps: 0.1, save_steps: 0.2 }));
});

test('save_strategy best needs a metric; reduce_lr_on_plateau needs evaluations; fp16 and bf16 exclude each other', () => {
  assert.throws(() => trainingArguments({ save_strategy: 'best' }), /save_strategy: best needs metric_for_best_model/);
  assert.throws(() => trainingArguments({ lr_scheduler_type: 'reduce_lr_on_plateau' }), /needs an eval_strategy other than "no"/);
  assert.throws(() => trainingArguments({ fp16: true, bf16: true }), /fp16 and bf16 cannot both be true/);
});

test('report_to: "all" and "tensorboard" mean TensorBoard, "none" nothing', () => {
  assert.deepEqual(trainingArguments().report_to, ['tensorboard']);
  assert.deepEqual(trainingArguments({ report_to: 'none' }).report_to, []);
  assert.deepEqual(trainingArguments({ report_to: ['tensorboard'] }).report_to, ['tensorboard']);
});

test('lr_scheduler_kwargs may be a JSON string, as on Hugging Face\'s command line', () => {
  assert.deepEqual(trainingArguments({ lr_scheduler_kwargs: '{"num_cycles": 2}' }).lr_scheduler_kwargs, { num_cycles: 2 });
  assert.throws(() => trainingArguments({ lr_scheduler_kwargs: '{nope' }), /lr_scheduler_kwargs: is a string but not valid JSON/);
});
