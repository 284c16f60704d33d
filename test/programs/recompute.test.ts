// Gradient checkpointing recomputes activations in the backward pass and changes nothing else:
// the same losses, gradient norms and parameters as the train step that keeps activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { createSession } from '../../src/trainer/programs/session';
import { FIXTURES, tempDir } from '../helpers';
import { assertTrainedAlike, threeSteps } from './sameTraining';

for (const name of ['bert', 'cnn']) {
  test(`${name}: the recomputing train step clones forward nodes and trains identically`, async () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', name, 'model.onnx')));
    const loss = { problemType: 'single_label_classification' as const, numLabels: name === 'bert' ? 2 : 3 };
    const plain = compileTrainStep(prepared, loss, 'step', { recomputeAttention: false, recomputeElementwise: false });
    const recomputing = compileTrainStep(prepared, loss, 'step', { recompute: true });
    assert.ok(recomputing.graph.nodes.length > plain.graph.nodes.length, 'forward nodes were cloned into the backward pass');
    // onnxruntime's own optimizations must not merge the clones back (common-subexpression
    // elimination would): its optimized recomputing graph is larger than the plain one.
    const optimizedNodes = async (graph: typeof plain.graph, recompute: boolean) => {
      const file = path.join(tempDir('opt'), 'optimized.onnx');
      await createSession(graph, { optimizedModelPath: file, optimization: 'extended', disabledOptimizers: recompute ? ['CommonSubexpressionElimination'] : [] });
      return loadModel(file).graph.nodes.length;
    };
    assert.ok(await optimizedNodes(recomputing.graph, true) > await optimizedNodes(plain.graph, false) + 10);
    assertTrainedAlike(await threeSteps(name, prepared, loss, { recomputeAttention: false }), await threeSteps(name, prepared, loss, { recompute: true }));
  });
}
