// Hugging Face's NaN-guarded attention softmax (Where(IsNaN(Softmax(x)), 0, Softmax(x))) becomes a
// NanSafeSoftmax composite for the backward pass (programs/nanSafeSoftmax.ts) and is expanded back
// with the guard as one float32 ThresholdedRelu of alpha 0 (autodiff/composites.ts). The expansion
// must compute what the exported guard computes, bit for bit, fully masked and NaN rows included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { expandComposites } from '../../src/trainer/autodiff/composites';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { Graph } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { formNanSafeSoftmax } from '../../src/trainer/programs/nanSafeSoftmax';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { createSession, fromOrt, toOrt } from '../../src/trainer/programs/session';
import { FIXTURES } from '../helpers';

/** The guard as the exporters write it, over rows of 4 scores. */
function exportedGuard(type: DataType): Graph {
  const g = new Graph();
  g.opset = 17;
  g.inputs.push({ name: 'x', type, shape: [6, 4] });
  g.outputs.push({ name: 'y', type, shape: [6, 4] });
  g.initializers.set('zero', fromNumbers(type, [], [0]));
  g.nodes.push(
    { name: 'softmax', op: 'Softmax', domain: '', inputs: ['x'], outputs: ['p'], attrs: new Map([['axis', { kind: 'int', value: -1 }]]) },
    { name: 'isnan', op: 'IsNaN', domain: '', inputs: ['p'], outputs: ['nan'], attrs: new Map() },
    { name: 'guard', op: 'Where', domain: '', inputs: ['nan', 'zero', 'p'], outputs: ['y'], attrs: new Map() },
  );
  return g;
}

// Ordinary rows, a fully masked row (-inf everywhere: NaN before the guard), a row with a NaN
// score, one with +inf, one with a very negative score (an element that underflows to 0), and one
// of equal scores.
const ROWS = [
  0.3, -1.2, 0.5, 2,
  -Infinity, -Infinity, -Infinity, -Infinity,
  0.1, NaN, 0.2, 0.3,
  1, Infinity, 0, -1,
  0, -200, 3, -3.4e38,
  7, 7, 7, 7,
];

async function run(g: Graph, type: DataType): Promise<number[]> {
  const session = await createSession(g);
  const out = await session.run({ x: toOrt(fromNumbers(type, [6, 4], ROWS)) });
  await session.release();
  return [...fromOrt(out.y).data as Float32Array | Float64Array];
}

for (const [type, guard] of [[DataType.FLOAT, 'ThresholdedRelu'], [DataType.DOUBLE, 'Where']] as const) {
  test(`the expanded NanSafeSoftmax (${DataType[type]}, guard ${guard}) computes the exported guard's values bit for bit`, async () => {
    const expected = await run(exportedGuard(type), type);
    const g = exportedGuard(type);
    const b = new GraphBuilder(g);
    assert.equal(formNanSafeSoftmax(g, (v) => b.shapes.get(v)), 1);
    assert.equal(expandComposites(b), 1);
    assert.deepEqual(g.nodes.map((n) => n.op), guard === 'ThresholdedRelu' ? ['Softmax', 'ThresholdedRelu'] : ['Softmax', 'IsNaN', 'Where']);
    const actual = await run(g, type);
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < actual.length; i++) assert.ok(Object.is(actual[i], expected[i]), `element ${i}: ${actual[i]} against ${expected[i]}`);
    assert.deepEqual(expected.slice(4, 8), [0, 0, 0, 0], 'the fully masked row is zeros');
    assert.deepEqual(expected.slice(8, 12), [0, 0, 0, 0], 'the row with a NaN score is zeros');
  });
}

test('bert_ts: the compiled step guards its attention with ThresholdedRelu, forward and recomputed, and runs no IsNaN', () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'bert_ts', 'model.onnx')));
  const guards = prepared.graph.nodes.filter((n) => n.op === 'IsNaN').length;
  assert.ok(guards > 0, 'the export guards its softmax');
  const step = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 2 }, 'step');
  const ops = step.graph.nodes.map((n) => n.op);
  assert.equal(ops.filter((o) => o === 'IsNaN').length, 0);
  assert.equal(ops.filter((o) => o === 'ThresholdedRelu').length, 2 * guards, 'one in the forward pass and one in the recomputed chain per layer');
});
