// Shape inference for operators PyTorch's current exporters emit (GatherND, Resize, Einsum): the
// inferred shape of each case must be the shape onnxruntime actually produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { AttrInput, Graph, attrs } from '../../src/trainer/onnx/graph';
import { ShapeMismatchError, ShapeTable } from '../../src/trainer/onnx/shapes';
import { DataType, Tensor, fromNumbers, sizeOf } from '../../src/trainer/onnx/tensor';
import { createSession, toOrt } from '../../src/trainer/programs/session';

interface Operand {
  dims: number[];
  /** Values of a constant operand (indices, scales, sizes); fed inputs are zeros. */
  constant?: { type: DataType; values: number[] };
}

/** Infers the output shape of one node and runs it in onnxruntime; returns both shapes. */
async function inferredAndActual(op: string, operands: (Operand | undefined)[], attributes: Record<string, AttrInput>) {
  const g = new Graph();
  g.opset = 20;
  const feeds: Record<string, ort.Tensor> = {};
  const names = operands.map((o, i) => {
    if (!o) return '';
    const name = `in${i}`;
    if (o.constant) g.initializers.set(name, fromNumbers(o.constant.type, o.dims, o.constant.values));
    else {
      g.inputs.push({ name, type: DataType.FLOAT, shape: o.dims });
      const t: Tensor = fromNumbers(DataType.FLOAT, o.dims, new Array(sizeOf(o.dims)).fill(0.5));
      feeds[name] = toOrt(t);
    }
    return name;
  });
  g.nodes.push({ name: 'n', op, domain: '', inputs: names, outputs: ['y'], attrs: attrs(attributes) });
  const inferred = new ShapeTable(g).inferAll().get('y')!.shape;
  g.outputs = [{ name: 'y', type: DataType.FLOAT, shape: undefined }];
  const out = await (await createSession(g)).run(feeds);
  return { inferred, actual: [...out.y.dims] };
}

const ints = (values: number[], dims = [values.length]): Operand => ({ dims, constant: { type: DataType.INT64, values } });
const floats = (values: number[]): Operand => ({ dims: [values.length], constant: { type: DataType.FLOAT, values } });

const CASES: [string, string, (Operand | undefined)[], Record<string, AttrInput>][] = [
  ['GatherND picks index pairs', 'GatherND', [{ dims: [3, 4, 5] }, ints([0, 1, 2, 3], [2, 2])], {}],
  ['GatherND with batch_dims 1 (last-token pooling)', 'GatherND', [{ dims: [2, 7, 5] }, ints([6, 3], [2, 1])], { batch_dims: 1 }],
  ['Resize by integer scales', 'Resize', [{ dims: [1, 2, 3, 4] }, undefined, floats([1, 1, 2, 2])], { mode: 'nearest' }],
  ['Resize by a scale whose product is not whole', 'Resize', [{ dims: [1, 1, 3, 5] }, undefined, floats([1, 1, 2.3333, 1.5])], { mode: 'linear' }],
  ['Resize to sizes', 'Resize', [{ dims: [2, 3, 4, 4] }, undefined, undefined, ints([2, 3, 7, 9])], { mode: 'linear' }],
  ['Resize to sizes on the axes attribute', 'Resize', [{ dims: [2, 3, 4, 4] }, undefined, undefined, ints([6, 2])], { mode: 'nearest', axes: [2, 3] }],
  ['Einsum with an explicit output', 'Einsum', [{ dims: [2, 3, 4] }, { dims: [2, 5, 4] }], { equation: 'bid,bjd->bij' }],
  ['Einsum with an implicit output', 'Einsum', [{ dims: [3, 4] }, { dims: [4, 5] }], { equation: 'ij,jk' }],
  ['Einsum with an ellipsis', 'Einsum', [{ dims: [2, 6, 3, 4] }, { dims: [4, 5] }], { equation: '...ij,jk->...ik' }],
  ['Einsum reducing to a scalar', 'Einsum', [{ dims: [3, 4] }, { dims: [3, 4] }], { equation: 'ij,ij->' }],
];

for (const [label, op, operands, attributes] of CASES) {
  test(`shape inference: ${label} gives onnxruntime's output shape`, async () => {
    const { inferred, actual } = await inferredAndActual(op, operands, attributes);
    assert.deepEqual(inferred, actual);
  });
}

test('known values flow through the float and selection arithmetic TorchScript traces into shapes, as onnxruntime computes them', async () => {
  // DINOv2's interpolate_pos_encoding: int(16 ** 0.5), sizes through Cast to float and back, and
  // expand(batch, -1, -1)'s Where(Equal(shape, -1), 1, shape).
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: ['batch', 3, 32, 32] });
  const scalar = (name: string, v: number) => g.initializers.set(name, fromNumbers(DataType.FLOAT, [], [v]));
  scalar('sixteen', 16);
  scalar('half', 0.5);
  scalar('eight', 8);
  g.initializers.set('minus', fromNumbers(DataType.INT64, [4], [-1, 3, -1, 32]));
  g.initializers.set('ones', fromNumbers(DataType.INT64, [4], [1, 1, 1, 1]));
  g.initializers.set('two', fromNumbers(DataType.INT64, [], [2]));
  const node = (op: string, inputs: string[], output: string, a: Record<string, AttrInput> = {}) =>
    g.nodes.push({ name: output, op, domain: '', inputs, outputs: [output], attrs: attrs(a) });
  node('Pow', ['sixteen', 'half'], 'root');
  node('Cast', ['root'], 'side', { to: DataType.INT64 });
  node('Shape', ['x'], 'shape');
  node('Equal', ['shape', 'minus'], 'isMinus');
  node('Where', ['isMinus', 'ones', 'shape'], 'expandTo');
  node('Gather', ['shape', 'two'], 'height');
  node('Cast', ['height'], 'heightF', { to: DataType.FLOAT });
  node('Div', ['heightF', 'eight'], 'patchesF');
  node('Sqrt', ['patchesF'], 'rootF');
  node('Floor', ['rootF'], 'floorF');
  node('Cast', ['floorF'], 'patches', { to: DataType.INT64 });
  const table = new ShapeTable(g).inferAll();
  const outputs = ['side', 'isMinus', 'expandTo', 'patches'];
  g.outputs = outputs.map((name) => ({ name, type: table.get(name)!.type, shape: undefined }));
  const out = await (await createSession(g)).run({ x: toOrt(fromNumbers(DataType.FLOAT, [2, 3, 32, 32], new Array(2 * 3 * 32 * 32).fill(0.5))) });
  for (const name of outputs) {
    const inferred = table.get(name)!.value;
    assert.ok(inferred, `a value is known for ${name}`);
    const actual = Array.from(out[name].data as ArrayLike<number | bigint | boolean>, (v) => Number(v));
    assert.deepEqual(inferred.map((v) => (v === 'batch' ? 2 : v)), actual, name);
  }
});

test('a Slice to the end of a symbolic axis keeps its symbol from 0 and is unknown from 1, whichever "end" marker it uses', async () => {
  // Exporters write INT64_MAX or INT32_MAX as "to the end", the causal-LM shift writes
  // Number.MAX_SAFE_INTEGER; once, that marker was taken for a length (labels [batch, 2^53 - 2]).
  for (const end of [2n ** 63n - 1n, 2n ** 31n - 1n, BigInt(Number.MAX_SAFE_INTEGER)]) {
    for (const start of [0, 1]) {
      const g = new Graph();
      g.opset = 20;
      g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: ['batch', 'sequence'] });
      g.initializers.set('starts', fromNumbers(DataType.INT64, [1], [start]));
      g.initializers.set('ends', { type: DataType.INT64, dims: [1], data: BigInt64Array.of(end) });
      g.initializers.set('axes', fromNumbers(DataType.INT64, [1], [1]));
      g.nodes.push({ name: 'n', op: 'Slice', domain: '', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['y'], attrs: attrs({}) });
      const inferred = new ShapeTable(g).inferAll().get('y')!.shape!;
      g.outputs = [{ name: 'y', type: DataType.FLOAT, shape: undefined }];
      const out = await (await createSession(g)).run({ x: toOrt(fromNumbers(DataType.FLOAT, [2, 7], new Array(14).fill(0.5))) });
      assert.deepEqual(out.y.dims, [2, 7 - start]);
      assert.equal(inferred[0], 'batch');
      if (start === 0) assert.equal(inferred[1], 'sequence', `end ${end}`);
      else assert.ok(typeof inferred[1] === 'string' && inferred[1].startsWith('?'), `end ${end}: ${inferred[1]} is not a fresh symbol`);
    }
  }
});

// Two static dims that differ, neither 1, cannot broadcast: onnxruntime refuses such a graph, and
// inference says so (ShapeMismatchError, which prepareModel reports as a defect of the file).
for (const [label, a, b, broadcasts] of [
  ['[2, 8] + [2, 4]', [2, 8], [2, 4], false],
  ['[3, 1, 4] + [2, 5, 1]', [3, 1, 4], [2, 5, 1], false],
  ['[2, 1] + [2, 4]', [2, 1], [2, 4], true],
  ['[5] + [3, 1, 5]', [5], [3, 1, 5], true],
] as const) {
  test(`shape inference: Add of ${label} ${broadcasts ? 'broadcasts' : 'is refused'}, as onnxruntime ${broadcasts ? 'runs' : 'refuses'} it`, async () => {
    const run = inferredAndActual('Add', [{ dims: [...a] }, { dims: [...b] }], {});
    if (broadcasts) {
      const { inferred, actual } = await run;
      assert.deepEqual(inferred, actual);
    } else {
      await assert.rejects(run, (e: Error) => e instanceof ShapeMismatchError && /do not broadcast/.test(e.message) && e.message.includes('Add node "n"'));
      const g = new Graph();
      g.opset = 20;
      g.inputs.push({ name: 'a', type: DataType.FLOAT, shape: [...a] }, { name: 'b', type: DataType.FLOAT, shape: [...b] });
      g.nodes.push({ name: 'n', op: 'Add', domain: '', inputs: ['a', 'b'], outputs: ['y'], attrs: attrs({}) });
      g.outputs = [{ name: 'y', type: DataType.FLOAT, shape: undefined }];
      const feed = (dims: readonly number[]) => toOrt(fromNumbers(DataType.FLOAT, [...dims], new Array(sizeOf([...dims])).fill(1)));
      await assert.rejects(async () => (await createSession(g)).run({ a: feed(a), b: feed(b) }));
    }
  });
}
