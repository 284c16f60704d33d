// A tied LM head's gradient without full-size temporaries (programs/tiedGradients.ts), and the
// tied copy not kept (fileLimits.ts, derivedCopy), on exports nobody here wrote: models whose head
// the exporters wrote as a transposed copy of the token embedding, trained with tie_identical.
// Hugging Face parity of the same cases is test/parity/tasks.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Node, attrInt, attrString } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { IO, compileTrainStep } from '../../src/trainer/programs/trainStep';
import { Task } from '../../src/trainer/programs/tasks';
import { exportDir } from '../helpers';

const CASES: [string, Task][] = [
  ['gemma2_clm_ts', 'text-generation'],
  ['gemma_clm_dynamo', 'text-generation'],
  ['opt_clm_dynamo', 'text-generation'],
  ['bloom_clm_ts', 'text-generation'],
  ['xlm_roberta_mlm_ts', 'fill-mask'],
  ['modernbert_mlm_ts', 'fill-mask'],
];

for (const [name, task] of CASES) {
  test(`${name}: the tied head's gradient is one product with the embedding's rows added in place`, () => {
    const prepared = prepareModel(loadModel(path.join(exportDir(name), 'model.onnx')), { task, tieIdentical: true });
    assert.ok(prepared.ties.length >= 1, 'the export writes the head as a copy of the embedding');
    const tie = prepared.ties.find((t) => t.transposed) ?? prepared.ties[0];
    const step = compileTrainStep(prepared, { task, problemType: 'single_label_classification', numLabels: 2 }, 'step').graph;
    const producer = new Map<string, Node>();
    for (const n of step.nodes) for (const o of n.outputs) producer.set(o, n);
    const grad = IO.grad(tie.of);
    const made = producer.get(grad)!;
    assert.equal(made.op, 'ScatterND');
    assert.equal(attrString(made, 'reduction', 'none'), 'add');
    const head = producer.get(made.inputs[0])!;
    if (tie.transposed) {
      assert.equal(head.op, 'Gemm', 'the head product written transposed');
      assert.equal(attrInt(head, 'transA', 0), 1);
    }
    // No zeros of the table's size, and no transpose of the product.
    const zerosOfTable = step.nodes.filter((n) => n.op === 'ConstantOfShape' && n.inputs.some((i) => producer.get(i)?.op === 'Shape' && producer.get(i)!.inputs[0] === tie.of));
    assert.deepEqual(zerosOfTable.map((n) => n.outputs[0]), []);
    assert.ok(!step.nodes.some((n) => n.op === 'Transpose' && producer.get(n.inputs[0]) === head), 'no transpose of the product');
  });
}

test('a tied copy is derived from its source when read, not kept', () => {
  const prepared = prepareModel(loadModel(path.join(exportDir('gemma2_clm_ts'), 'model.onnx')), { task: 'text-generation', tieIdentical: true });
  const tie = prepared.ties.find((t) => t.transposed)!;
  const copy = prepared.graph.initializers.get(tie.copy)!;
  const source = prepared.graph.initializers.get(tie.of)!;
  assert.ok(Object.getOwnPropertyDescriptor(copy, 'data')?.get, 'the copy holds no bytes of its own');
  assert.equal(prepared.model.graph.initializers.get(tie.copy), copy, 'nor does the loaded model');
  const [rows, cols] = source.dims;
  assert.deepEqual(copy.dims, [cols, rows]);
  const data = copy.data;
  for (const [r, c] of [[0, 0], [1, 2], [rows - 1, cols - 1], [rows >> 1, cols >> 1]]) assert.equal(data[c * rows + r], source.data[r * cols + c]);
});
