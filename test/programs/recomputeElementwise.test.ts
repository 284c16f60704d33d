// The train step remakes elementwise results the backward pass reads (GELU's output, SwiGLU's
// product) from operands it keeps anyway, instead of keeping them (programs/recompute.ts,
// recomputeElementwise), on every transformer family the exporters write, and trains exactly as
// the step that keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { FIXTURES } from '../helpers';
import { assertTrainedAlike, threeSteps, trainSteps } from './sameTraining';
import { jsonlBatch } from './parityBatch';

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;

/** Values of the compiled step's forward nodes (those of the prepared graph) that its backward nodes read. */
function keptFor(step: Graph, forwardNames: Set<string>): Map<string, string> {
  const forward = step.nodes.filter((n) => forwardNames.has(n.name));
  const made = new Map(forward.flatMap((n) => n.outputs.map((o) => [o, n.op] as [string, string])));
  const kept = new Map<string, string>();
  for (const n of step.nodes) if (!forwardNames.has(n.name)) for (const i of n.inputs) if (made.has(i)) kept.set(i, made.get(i)!);
  return kept;
}

/** The activation each family's feed-forward block reads into its second product: GELU's output, or SwiGLU's silu(g)·u. */
const ACTIVATION: Record<string, string> = { bert: 'Gelu', distilbert: 'Gelu', roberta: 'Gelu', vit: 'Gelu', gpt2: 'Mul', llama: 'Mul' };

for (const name of Object.keys(ACTIVATION).flatMap((f) => [`${f}_ts`, `${f}_dynamo`])) {
  test(`${name}: the backward pass keeps no elementwise result it can remake from kept operands`, () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
    const forwardNames = new Set(prepared.graph.nodes.map((n) => n.name));
    const kept = compileTrainStep(prepared, LOSS, 'step', { recomputeElementwise: false });
    const remade = compileTrainStep(prepared, LOSS, 'step');
    const op = ACTIVATION[name.split('_')[0]];
    const before = [...keptFor(kept.graph, forwardNames)].filter(([, o]) => o === op).length;
    const after = [...keptFor(remade.graph, forwardNames)].filter(([, o]) => o === op).length;
    // Two layers in each fixture: at least one activation a layer was kept, and fewer are now.
    assert.ok(before >= 2, `${before} ${op} results kept without the rewrite`);
    assert.ok(after <= before - 2, `${after} ${op} results still kept (${before} before)`);
    assert.ok(remade.clones >= kept.clones + 2, `${remade.clones} clones against ${kept.clones}`);
  });
}

test('llama_ts: RMSNorm\'s cast(x · rsqrt), read by its scale\'s gradient, is remade from x by the chain that made it', () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'llama_ts', 'model.onnx')));
  const forwardNames = new Set(prepared.graph.nodes.map((n) => n.name));
  // One Pow per RMSNorm (x²); each casts x to float and its normalized value back.
  const norms = prepared.graph.nodes.filter((n) => n.op === 'Pow').length;
  const casts = (opts: { recomputeElementwise?: boolean }) =>
    [...keptFor(compileTrainStep(prepared, LOSS, 'step', { ...opts, selectedRowsOnly: false }).graph, forwardNames)].filter(([, op]) => op === 'Cast').length;
  assert.ok(norms >= 4, `${norms} RMSNorms`);
  assert.equal(casts({ recomputeElementwise: false }), 2 * norms);
  // x's cast stays (the norm's own gradient reads it); the normalized one is remade.
  assert.equal(casts({}), norms);
});

test('bert: remaking GELU\'s output trains identically to keeping it', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx')));
  assertTrainedAlike(await threeSteps('bert', prepared, LOSS, { recomputeElementwise: false }), await threeSteps('bert', prepared, LOSS, {}));
});

for (const name of ['gpt2_ts', 'llama_ts', 'llama_dynamo']) {
  test(`${name}: remaking the feed-forward activations trains identically to keeping them`, async () => {
    const dir = path.join(FIXTURES, 'exports', name);
    const prepared = prepareModel(loadModel(path.join(dir, 'model.onnx')));
    const batch = jsonlBatch(path.join(dir, 'train.jsonl'), prepared);
    const settings = { optimizer: { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false }, lr: 1e-3, maxGradNorm: 1, randomKey: 5 } as const;
    assertTrainedAlike(await trainSteps(prepared, LOSS, batch, { recomputeElementwise: false }, settings), await trainSteps(prepared, LOSS, batch, {}, settings));
  });
}
