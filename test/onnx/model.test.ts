// ONNX model files: protobuf round trip, external data for large tensors, shape inference with
// symbolic dimensions on real PyTorch exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, saveModel } from '../../src/trainer/onnx/model';
import { upgradeOpset } from '../../src/trainer/onnx/opset';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { constantsToInitializers } from '../../src/trainer/programs/prepare';
import { FIXTURES, tempDir } from '../helpers';

test('a model saved with external data loads back identically and runs in onnxruntime', async () => {
  const model = loadModel(path.join(FIXTURES, 'parity', 'mlp', 'model.onnx'));
  const dir = tempDir('ext');
  const file = path.join(dir, 'big.onnx');
  saveModel(file, model.graph, model.proto, { externalDataThreshold: 256 });
  assert.ok(fs.existsSync(`${file}.data`), 'external data file written');
  const back = loadModel(file);
  for (const [name, t] of model.graph.initializers) {
    assert.deepEqual(Array.from(back.graph.initializers.get(name)!.data as Float32Array), Array.from(t.data as Float32Array), name);
  }
  const a = await ort.InferenceSession.create(path.join(FIXTURES, 'parity', 'mlp', 'model.onnx'));
  const b = await ort.InferenceSession.create(file);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)), [2, 20]);
  assert.deepEqual(Array.from((await b.run({ features: x })).logits.data as Float32Array), Array.from((await a.run({ features: x })).logits.data as Float32Array));
});

test('shape inference keeps batch and sequence symbolic through BERT\'s reshapes (folding off)', () => {
  const model = loadModel(path.join(FIXTURES, 'parity', 'bert', 'model_nofold.onnx'));
  const g = upgradeOpset(model.graph);
  constantsToInitializers(g);
  const shapes = new ShapeTable(g).inferAll();
  for (const n of g.nodes) for (const o of n.outputs) assert.ok(shapes.get(o)?.shape, `rank of ${o} (${n.op}) is known`);
  assert.deepEqual(shapes.get('logits')!.shape, ['batch', 2]);
  const softmax = g.nodes.find((n) => n.op === 'Softmax')!;
  assert.deepEqual(shapes.get(softmax.outputs[0])!.shape, ['batch', 2, 'sequence', 'sequence']);
});

test('a file that is not ONNX is a clear error', () => {
  const file = path.join(tempDir('bad'), 'x.onnx');
  fs.writeFileSync(file, 'hello');
  assert.throws(() => loadModel(file), /is not a valid ONNX model/);
});

test('models older than opset 13 are refused with a hint to re-export', () => {
  const model = loadModel(path.join(FIXTURES, 'parity', 'mlp', 'model.onnx'));
  model.graph.opset = 11;
  assert.throws(() => upgradeOpset(model.graph, 'old.onnx'), /old\.onnx uses ONNX opset 11; Trainer needs opset 13 or newer/);
});
