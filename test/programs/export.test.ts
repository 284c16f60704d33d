// The exported model is inference-ready: onnxruntime loads model.onnx (weights read from
// model.safetensors as external data) and computes the logits predict() reports — batch
// normalization on running statistics, no dropout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { runCli, tempDir, writeConfig } from '../helpers';

test('a built-in CNN with dropout exports a model whose logits equal predict\'s', async () => {
  const dir = tempDir('export');
  const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({
    pixel_values: [Array.from({ length: 6 }, (_, r) => Array.from({ length: 6 }, (_, c) => Math.sin(i + r * 6 + c)))],
    labels: i % 2,
  }));
  fs.writeFileSync(path.join(dir, 'data.jsonl'), lines.join('\n') + '\n');
  const file = writeConfig(dir, {
    model: { builtin: 'cnn', channels: [4], dropout: 0.3, num_labels: 2 },
    data: { train: 'data.jsonl', test: 'data.jsonl' },
    training: { output_dir: 'out', max_steps: 5, per_device_train_batch_size: 4, save_strategy: 'no', learning_rate: 0.01 },
  });
  assert.equal(runCli(['train', file]).code, 0);
  assert.equal(runCli(['predict', file]).code, 0);
  const predicted = fs.readFileSync(path.join(dir, 'out', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).logits as number[]);

  const weights = readSafetensors(path.join(dir, 'out', 'model.safetensors')).tensors;
  assert.ok(weights.has('bn1.running_mean') && weights.has('conv1.weight'));
  const session = await ort.InferenceSession.create(path.join(dir, 'out', 'model.onnx'));
  const x = Float32Array.from(lines.flatMap((l) => (JSON.parse(l).pixel_values as number[][][]).flat(2)));
  const out = await session.run({ pixel_values: new ort.Tensor('float32', x, [12, 1, 6, 6]) });
  const logits = out.logits.data as Float32Array;
  predicted.flat().forEach((v, i) => assert.ok(Math.abs(v - logits[i]) < 1e-5, `logit ${i}: ${logits[i]} vs predict ${v}`));
  // Dropout is gone from the inference graph: two runs agree exactly.
  const again = (await session.run({ pixel_values: new ort.Tensor('float32', x, [12, 1, 6, 6]) })).logits.data as Float32Array;
  assert.deepEqual(Array.from(again), Array.from(logits));
});
