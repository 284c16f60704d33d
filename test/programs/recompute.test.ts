// Gradient checkpointing recomputes activations in the backward pass and changes nothing else:
// the same losses, gradient norms and parameters as the train step that keeps activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/trainer/onnx/model';
import { TrainStepRunner, initialState } from '../../src/trainer/programs/executor';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { createSession } from '../../src/trainer/programs/session';
import { FIXTURES, tempDir } from '../helpers';
import { parityBatch } from './parityBatch';

const OPT = { name: 'adamw_torch' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };

for (const name of ['bert', 'cnn']) {
  test(`${name}: the recomputing train step clones forward nodes and trains identically`, async () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', name, 'model.onnx')));
    const loss = { problemType: 'single_label_classification' as const, numLabels: name === 'bert' ? 2 : 3 };
    const plain = compileTrainStep(prepared, loss, 'step');
    const recomputing = compileTrainStep(prepared, loss, 'step', { recompute: true });
    assert.ok(recomputing.graph.nodes.length > plain.graph.nodes.length, 'forward nodes were cloned into the backward pass');
    const batch = parityBatch(name, prepared);
    const run = async (recompute: boolean) => {
      const runner = await TrainStepRunner.create(prepared, loss, OPT, false, { recompute });
      const state = initialState(prepared, runner.slots);
      const out = [];
      for (let step = 1; step <= 3; step++) out.push(await runner.microBatch(state, { batch, weight: 1, last: true, scalars: { lr: 1e-3, step, maxGradNorm: 1, randomKey: 5 } }));
      return { out, state };
    };
    // onnxruntime's own optimizations must not merge the clones back (common-subexpression
    // elimination would): its optimized recomputing graph is larger than the plain one.
    const optimizedNodes = async (graph: typeof plain.graph, recompute: boolean) => {
      const file = path.join(tempDir('opt'), 'optimized.onnx');
      await createSession(graph, { optimizedModelPath: file, optimization: 'extended', disabledOptimizers: recompute ? ['CommonSubexpressionElimination'] : [] });
      return loadModel(file).graph.nodes.length;
    };
    assert.ok(await optimizedNodes(recomputing.graph, true) > await optimizedNodes(plain.graph, false) + 10);
    const a = await run(false);
    const b = await run(true);
    a.out.forEach((r, i) => {
      assert.ok(Math.abs(r.loss - b.out[i].loss) <= 1e-6 * Math.abs(r.loss), `step ${i + 1} loss ${r.loss} vs ${b.out[i].loss}`);
      assert.ok(Math.abs(r.gradNorm! - b.out[i].gradNorm!) <= 1e-5 * r.gradNorm!, `step ${i + 1} grad norm`);
    });
    for (const [k, t] of a.state.params) {
      // An attention key bias has a true gradient of zero (softmax ignores a constant shift), so
      // its gradient is rounding noise that Adam scales up to ±lr; it cannot be compared.
      if (k.endsWith('key.bias')) continue;
      const other = b.state.params.get(k)!.data as Float32Array;
      (t.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - other[i]) < 1e-5, `${k}[${i}]`));
    }
  });
}
