// `If` nodes decided by shapes alone are inlined (programs/controlFlow.ts), so shape inference
// and the gradient can follow the branch onnxruntime would take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { FIXTURES } from '../helpers';

test('the shape checks TorchScript traced into If nodes (DeBERTa-v2) are decided and inlined', () => {
  const model = loadModel(path.join(FIXTURES, 'exports-probe', 'deberta_v2_ts', 'model.onnx'));
  assert.equal(model.graph.nodes.filter((n) => n.op === 'If').length, 2);
  const prepared = prepareModel(model);
  assert.equal(prepared.graph.nodes.filter((n) => n.op === 'If').length, 0);
  // The taken branch's output reaches the graph through an Identity named after the If.
  assert.ok(prepared.graph.nodes.some((n) => n.op === 'Identity' && n.name.startsWith('If_643/')));
  assert.ok(prepared.params.length > 0);
});
