// Gradient checks generated from the op table, plus the table's completeness against the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildBackward } from '../../src/trainer/autodiff/backward';
import { gradientRules } from '../../src/trainer/autodiff/registry';
import { COMPOSITES } from '../../src/trainer/autodiff/composites';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { Graph } from '../../src/trainer/onnx/graph';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { createSession } from '../../src/trainer/programs/session';
import '../../src/trainer/autodiff/rules';
import { opTable } from './opTable';
import { gradcheck } from './gradcheck';

test('every gradient rule has an op-table entry, and every entry has a rule', () => {
  const tabled = new Set(opTable.map((c) => c.op));
  const ruled = new Set([...gradientRules.keys(), ...COMPOSITES.keys()]);
  assert.deepEqual([...ruled].filter((op) => !tabled.has(op)), [], 'rules without op-table entries');
  assert.deepEqual([...tabled].filter((op) => !ruled.has(op)), [], 'op-table entries without rules');
});

for (const c of opTable) {
  test(`gradient of ${c.op}: ${c.label} (${c.precision ?? 'float64'})`, async () => {
    const r = await gradcheck(c);
    assert.ok(r.maxError <= r.tolerance, `error ${r.maxError.toExponential(2)} > ${r.tolerance}: ${r.details}`);
  });
}

test('gradient of Dropout in training mode is the forward mask scaled by 1/(1 − ratio)', async () => {
  // The mask is random, so finite differences do not apply; the identity dx = dy · mask / (1 − p)
  // is checked against the mask onnxruntime drew in the same run.
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [4, 50] }, { name: 'dy', type: DataType.FLOAT, shape: [4, 50] });
  g.initializers.set('ratio', fromNumbers(DataType.FLOAT, [], [0.4]));
  g.initializers.set('training', { type: DataType.BOOL, dims: [], data: Uint8Array.of(1) });
  g.nodes.push({ name: 'drop', op: 'Dropout', domain: '', inputs: ['x', 'ratio', 'training'], outputs: ['y'], attrs: new Map() });
  const b = new GraphBuilder(g);
  const loss = b.op('ReduceSum', [b.mul('y', 'dy')], { keepdims: 0 });
  const { grads } = buildBackward(b, loss, ['x']);
  b.add('Identity', [grads.get('x')!], {}, { outputs: ['dx'] });
  b.add('Identity', [g.nodes[0].outputs[1]], {}, { outputs: ['mask'] });
  g.outputs = [{ name: 'dx', type: DataType.FLOAT, shape: [4, 50] }, { name: 'mask', type: DataType.BOOL, shape: [4, 50] }];
  const session = await createSession(g);
  const dy = Float32Array.from({ length: 200 }, (_, i) => Math.cos(i));
  const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(200).fill(1), [4, 50]), dy: new ort.Tensor('float32', dy, [4, 50]) });
  const dx = out.dx.data as Float32Array;
  const mask = out.mask.data as Uint8Array;
  assert.ok(mask.some((m) => m === 0) && mask.some((m) => m === 1));
  dx.forEach((v, i) => assert.ok(Math.abs(v - (mask[i] ? dy[i] / 0.6 : 0)) < 1e-6, `element ${i}`));
});

test('gradient of Relu in float32 is dy where y > 0 and 0 where y is 0, from the smallest normal float to +∞', async () => {
  // The float32 rule's mask is HardSigmoid(y·FLT_MAX) (rules/unary.ts): checked here against
  // y > 0 exactly, at the values where a clamp could go wrong.
  const g = new Graph();
  g.opset = 20;
  const xs = [0, -0, -1, -3.4e38, 1.1754944e-38, 3e-39, 1e-30, 1e-7, 1, 3.4e38, Infinity, -Infinity];
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [xs.length] }, { name: 'dy', type: DataType.FLOAT, shape: [xs.length] });
  g.nodes.push({ name: 'relu', op: 'Relu', domain: '', inputs: ['x'], outputs: ['y'], attrs: new Map() });
  const b = new GraphBuilder(g);
  const loss = b.op('ReduceSum', [b.mul('y', 'dy')], { keepdims: 0 });
  const { grads } = buildBackward(b, loss, ['x']);
  b.add('Identity', [grads.get('x')!], {}, { outputs: ['dx'] });
  g.outputs = [{ name: 'dx', type: DataType.FLOAT, shape: [xs.length] }];
  const session = await createSession(g);
  const x = Float32Array.from(xs);
  const dy = Float32Array.from(xs, (_, i) => (i % 2 ? -1.5 : 2.25) * (i + 1));
  const out = await session.run({ x: new ort.Tensor('float32', x, [xs.length]), dy: new ort.Tensor('float32', dy, [xs.length]) });
  const dx = Array.from(out.dx.data as Float32Array);
  assert.deepEqual(dx.map((v) => (v === 0 ? 0 : v)), Array.from(x, (v, i) => (v > 0 ? dy[i] : 0)));
});

test('a stride-2 1×1 Conv on an even size gets its input gradient from one ConvTranspose with output_padding, no Pad after it', () => {
  // The last row no window reached is ConvTranspose's own zeros (rules/conv.ts, trailingPositions);
  // the values are checked by the op table's case of the same shape.
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [2, 3, 12, 9] }, { name: 'w', type: DataType.FLOAT, shape: [4, 3, 1, 1] });
  g.nodes.push({ name: 'conv', op: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: new Map([['strides', { kind: 'ints', value: [2, 2] }]]) });
  const b = new GraphBuilder(g);
  const { grads } = buildBackward(b, b.op('ReduceSum', ['y'], { keepdims: 0 }), ['x']);
  const transposes = g.nodes.filter((n) => n.op === 'ConvTranspose');
  assert.equal(transposes.length, 1);
  assert.deepEqual(transposes[0].attrs.get('output_padding'), { kind: 'ints', value: [1, 0] });
  assert.equal(g.nodes.filter((n) => n.op === 'Pad').length, 0);
  assert.deepEqual(b.shape(grads.get('x')!), [2, 3, 12, 9]);
});

test('two gradient contributions to one value are added by Add (multithreaded), three or more by Sum', () => {
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [2, 3] });
  const b = new GraphBuilder(g);
  const twice = b.mul('x', b.op('Relu', ['x']));
  const thrice = b.mul(twice, b.op('Sigmoid', ['x']));
  buildBackward(b, b.op('ReduceSum', [b.add2(twice, thrice)], { keepdims: 0 }), ['x']);
  const sums = g.nodes.filter((n) => n.op === 'Sum');
  assert.deepEqual(sums.map((n) => n.inputs.length), [3]);
});

test('gradient of ReduceMax is shared evenly among tied maxima, as torch.amax', async () => {
  // Ties are where finite differences do not apply; the rule's choice is checked directly.
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [2, 4] }, { name: 'dy', type: DataType.FLOAT, shape: [2] });
  g.initializers.set('axes', fromNumbers(DataType.INT64, [1], [1]));
  g.nodes.push({ name: 'max', op: 'ReduceMax', domain: '', inputs: ['x', 'axes'], outputs: ['y'], attrs: new Map([['keepdims', { kind: 'int', value: 0 }]]) });
  const b = new GraphBuilder(g);
  const loss = b.op('ReduceSum', [b.mul('y', 'dy')], { keepdims: 0 });
  const { grads } = buildBackward(b, loss, ['x']);
  b.add('Identity', [grads.get('x')!], {}, { outputs: ['dx'] });
  g.outputs = [{ name: 'dx', type: DataType.FLOAT, shape: [2, 4] }];
  const x = [3, 1, 3, 3, 0, 5, 2, 5];
  const dy = [0.6, -1];
  const out = await (await createSession(g)).run({
    x: new ort.Tensor('float32', Float32Array.from(x), [2, 4]),
    dy: new ort.Tensor('float32', Float32Array.from(dy), [2]),
  });
  const dx = out.dx.data as Float32Array;
  for (let r = 0; r < 2; r++) {
    const row = x.slice(4 * r, 4 * r + 4);
    const top = Math.max(...row);
    const ties = row.filter((v) => v === top).length;
    row.forEach((v, k) => assert.ok(Math.abs(dx[4 * r + k] - (v === top ? dy[r] / ties : 0)) < 1e-7, `row ${r}, element ${k}`));
  }
});

/** dx of Σ w·Resize(x) for a [batch,2,3,4] input, with sizes from `sizesOf(builder)`. */
async function resizeGradient(batch: number | string, sizesOf: (b: GraphBuilder) => string): Promise<Float32Array> {
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [batch, 2, 3, 4] });
  g.initializers.set('w', fromNumbers(DataType.FLOAT, [5, 7], Array.from({ length: 35 }, (_, i) => Math.cos(i))));
  const b = new GraphBuilder(g);
  const y = b.op('Resize', ['x', '', '', sizesOf(b)], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' });
  const loss = b.op('ReduceSum', [b.mul(y, 'w')], { keepdims: 0 });
  const { grads } = buildBackward(b, loss, ['x']);
  b.add('Identity', [grads.get('x')!], {}, { outputs: ['dx'] });
  g.outputs = [{ name: 'dx', type: DataType.FLOAT, shape: undefined }];
  const x = new ort.Tensor('float32', Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)), [2, 2, 3, 4]);
  return (await (await createSession(g)).run({ x })).dx.data as Float32Array;
}

test('gradient of Resize with sizes built from Shape(x) (TorchScript) and a symbolic batch equals the constant-sizes gradient', async () => {
  const fromShape = await resizeGradient('batch', (b) =>
    b.op('Concat', [b.op('Slice', [b.shapeOf('x'), b.int64s([0]), b.int64s([2])]), b.int64s([5, 7])], { axis: 0 }));
  const constant = await resizeGradient(2, (b) => b.int64s([2, 2, 5, 7]));
  assert.deepEqual(Array.from(fromShape), Array.from(constant));
});
