// Step and epoch arithmetic equals Hugging Face's (reference §2.1 and its worked example §2.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTraining } from '../../src/trainer/loop/plan';
import { TrainingArguments } from '../../src/trainer/config/trainingArguments';
import { ConfigDocument } from '../../src/trainer/config/document';
import { parseTrainingArguments } from '../../src/trainer/config/trainingArguments';

function args(values: Record<string, unknown>): TrainingArguments {
  return parseTrainingArguments(ConfigDocument.parse('t.yaml', '{}'), values);
}

test('n=1000, bs=8, GA=4, 3 epochs: L=125, 32 updates per epoch, T=96, warmup ratio 0.1 gives W=10', () => {
  const p = planTraining(1000, args({ per_device_train_batch_size: 8, gradient_accumulation_steps: 4, num_train_epochs: 3, warmup_steps: 0.1 }));
  assert.equal(p.microBatchesPerEpoch, 125);
  assert.equal(p.updatesPerEpoch, 32);
  assert.equal(p.maxSteps, 96);
  assert.equal(p.epochs, 3);
  assert.equal(p.warmupSteps, 10);
});

test('fractional epochs stop mid-epoch: 2.5 epochs of 32 updates is 80 steps over 3 epoch loops', () => {
  const p = planTraining(1000, args({ per_device_train_batch_size: 8, gradient_accumulation_steps: 4, num_train_epochs: 2.5 }));
  assert.equal(p.maxSteps, 80);
  assert.equal(p.epochs, 3);
});

test('max_steps overrides epochs; the epoch loop count is ceil(T / updates per epoch)', () => {
  const p = planTraining(21, args({ per_device_train_batch_size: 2, gradient_accumulation_steps: 4, max_steps: 4 }));
  assert.equal(p.updatesPerEpoch, 3);
  assert.equal(p.maxSteps, 4);
  assert.equal(p.epochs, 2);
  assert.equal(p.numTrainSamples, 4 * 2 * 4);
});

test('dataloader_drop_last floors the micro-batch count', () => {
  assert.equal(planTraining(21, args({ per_device_train_batch_size: 2, dataloader_drop_last: true })).microBatchesPerEpoch, 10);
  assert.equal(planTraining(21, args({ per_device_train_batch_size: 2 })).microBatchesPerEpoch, 11);
});

test('ratios of logging, eval and save steps resolve against T, rounded up', () => {
  const p = planTraining(100, args({ per_device_train_batch_size: 10, num_train_epochs: 3, logging_steps: 0.1, save_steps: 0.25, eval_strategy: 'steps', eval_steps: 0.5 }));
  assert.equal(p.maxSteps, 30);
  assert.equal(p.loggingSteps, 3);
  assert.equal(p.saveSteps, 8);
  assert.equal(p.evalSteps, 15);
});
