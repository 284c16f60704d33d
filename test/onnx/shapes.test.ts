// Shape inference for operators PyTorch's current exporters emit (GatherND, Resize, Einsum): the
// inferred shape of each case must be the shape onnxruntime actually produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { AttrInput, Graph, attrs } from '../../src/trainer/onnx/graph';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
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
