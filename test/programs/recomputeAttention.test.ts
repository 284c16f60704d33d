// The train step recomputes each layer's attention probabilities in the backward pass from the
// query and key it keeps anyway (programs/recompute.ts, recomputeAttention), on every attention
// family the exporters write, and trains exactly as the step that keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph } from '../../src/trainer/onnx/graph';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { createSession } from '../../src/trainer/programs/session';
import { FIXTURES, tempDir } from '../helpers';
import { assertTrainedAlike, threeSteps } from './sameTraining';

/** The attention probabilities of a graph as exported: Softmax outputs and Hugging Face's NaN-guarded Where(IsNaN(s), 0, s). */
function probabilities(g: Graph): string[] {
  const producers = g.producers();
  return g.nodes.filter((n) => n.op === 'Softmax' || (n.op === 'Where' && producers.get(n.inputs[0])?.op === 'IsNaN')).map((n) => n.outputs[0])
    .filter((v) => !g.nodes.some((n) => n.op === 'IsNaN' && n.inputs[0] === v));
}

const readers = (g: Graph, v: string) => g.nodes.filter((n) => n.inputs.includes(v)).length;

/** Both exporters' files of every attention family in test/fixtures/exports. */
const EXPORTS: [name: string, loss: Parameters<typeof compileTrainStep>[1]][] = ['bert', 'distilbert', 'roberta', 'gpt2', 'llama', 'vit']
  .flatMap((family) => [`${family}_ts`, `${family}_dynamo`])
  .map((name) => [name, { problemType: 'single_label_classification', numLabels: 2 }]);

for (const [name, loss] of EXPORTS) {
  test(`${name}: the backward pass reads no attention probabilities kept from the forward pass`, () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
    const probs = probabilities(prepared.graph);
    assert.ok(probs.length >= 2, `${name} has a softmax per layer`);
    // The elementwise, layer-norm and expansion remakes (recomputeElementwise.test.ts, recomputeNormalized.test.ts) off in both, to count this one's
    // clones; the last layer computed whole, so that its probabilities keep the exporter's name
    // (selectedRows.test.ts: the same clones are made either way).
    const only = { recomputeElementwise: false, recomputeNormalized: false, recomputeExpanded: false, selectedRowsOnly: false };
    const kept = compileTrainStep(prepared, loss, 'step', { ...only, recomputeAttention: false });
    const recomputing = compileTrainStep(prepared, loss, 'step', only);
    assert.equal(kept.clones, 0);
    assert.ok(recomputing.clones >= 2 * probs.length, `${recomputing.clones} nodes cloned for ${probs.length} layers`);
    for (const p of probs) {
      // The forward pass's own readers (the product with the values) remain; the backward ones go.
      assert.ok(readers(kept.graph, p) > readers(prepared.graph, p), `${p} is read by the backward pass when kept`);
      assert.equal(readers(recomputing.graph, p), readers(prepared.graph, p), `${p} is read only by the forward pass when recomputed`);
    }
  });
}

for (const [name, loss] of EXPORTS) {
  test(`${name}: onnxruntime keeps q and k in one layout, the recomputed scores reading them as the gradient does`, async () => {
    // onnxruntime moves the head transposes past the scaling and composes the gradient's Transpose
    // with them; a recomputed product reading q and k as the forward pass left them would keep
    // that [batch, heads, sequence, head_dim] copy alive as well. In the optimized graph, an
    // operand that a recomputed product shares with the forward pass's product must also be read
    // by the backward pass's own nodes: kept anyway, not for the recomputation.
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
    const step = compileTrainStep(prepared, loss, 'step');
    const file = path.join(tempDir('opt'), 'optimized.onnx');
    await createSession(step.graph, { optimizedModelPath: file, disabledOptimizers: ['CommonSubexpressionElimination'] });
    const optimized = loadModel(file).graph;
    const product = (n: Graph['nodes'][number]) => n.op === 'MatMul' || n.op === 'FusedMatMul';
    const recomputed = optimized.nodes.filter((n) => product(n) && n.name.includes('_recompute'));
    assert.ok(recomputed.length >= 2, `${recomputed.length} recomputed products`);
    for (const n of recomputed) {
      for (const operand of n.inputs) {
        const others = optimized.nodes.filter((m) => !m.name.includes('_recompute') && m.inputs.includes(operand));
        assert.ok(!(others.length === 1 && product(others[0])), `${operand} is read by ${n.name} and the forward pass's ${others[0]?.name} alone`);
      }
    }
  });
}

test('a softmax over a projection is kept: recomputing it would redo the product with the weight', () => {
  // features [batch, 4] → Softmax(features · w1) · w2 → logits [batch, 2]
  const g = new Graph();
  g.opset = 17;
  g.inputs.push({ name: 'features', type: DataType.FLOAT, shape: ['batch', 4] });
  g.outputs.push({ name: 'logits', type: DataType.FLOAT, shape: ['batch', 2] });
  g.initializers.set('w1', fromNumbers(DataType.FLOAT, [4, 3], Array.from({ length: 12 }, (_, i) => Math.sin(i + 1))));
  g.initializers.set('w2', fromNumbers(DataType.FLOAT, [3, 2], Array.from({ length: 6 }, (_, i) => Math.cos(i + 1))));
  const node = (op: string, inputs: string[], output: string) => ({ name: output, op, domain: '', inputs, outputs: [output], attrs: new Map() });
  g.nodes = [node('MatMul', ['features', 'w1'], 'h'), node('Softmax', ['h'], 'p'), node('MatMul', ['p', 'w2'], 'logits')];
  const prepared = prepareModel({ path: 'projection.onnx', proto: {} as never, graph: g });
  const step = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 2 }, 'step');
  assert.equal(step.clones, 0);
  assert.ok(readers(step.graph, 'p') > 1, 'the backward pass reads the kept softmax');
});

test('bert: recomputing the attention probabilities trains identically to keeping them', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx')));
  const loss = { problemType: 'single_label_classification' as const, numLabels: 2 };
  assertTrainedAlike(await threeSteps('bert', prepared, loss, { recomputeAttention: false }), await threeSteps('bert', prepared, loss, {}));
});
