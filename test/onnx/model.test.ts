// ONNX model files: protobuf round trip, external data for large tensors, shape inference with
// symbolic dimensions on real PyTorch exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeModelPieces, loadModel, modelToProto, saveModel } from '../../src/trainer/onnx/model';
import { onnx } from '../../src/trainer/onnx/generated/onnx';
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

test('a model written in pieces (initializers straight from the tensors\' memory) decodes like the one-buffer encoding', () => {
  const model = loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx'));
  const pieces = encodeModelPieces(model.graph, model.proto);
  const whole = onnx.ModelProto.encode(modelToProto(model.graph, model.proto)).finish();
  assert.equal(pieces.reduce((n, p) => n + p.byteLength, 0), whole.byteLength);
  const decoded = onnx.ModelProto.toObject(onnx.ModelProto.decode(Buffer.concat(pieces)));
  assert.deepEqual(decoded, onnx.ModelProto.toObject(onnx.ModelProto.decode(whole)));
  const back = loadModel(writeTemp('pieces.onnx', Buffer.concat(pieces)));
  for (const [name, t] of model.graph.initializers) assert.deepEqual(back.graph.initializers.get(name), t, name);
});

function writeTemp(name: string, bytes: Uint8Array): string {
  const file = path.join(tempDir('pieces'), name);
  fs.writeFileSync(file, bytes);
  return file;
}

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
