// Three AdamW steps of a parity fixture's whole batch under given runner options, and the check
// that two such runs trained alike: for rewrites that must change how a step is computed, not
// what it computes (gradient checkpointing, the attention probabilities recomputed).
import assert from 'node:assert/strict';
import { TrainStepRunner, initialState, type RunnerOptions } from '../../src/trainer/programs/executor';
import type { prepareModel } from '../../src/trainer/programs/prepare';
import type { LossHeadOptions } from '../../src/trainer/programs/lossHeads';
import { parityBatch } from './parityBatch';

const OPT = { name: 'adamw_torch' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };

export async function threeSteps(name: string, prepared: ReturnType<typeof prepareModel>, loss: LossHeadOptions, opts: RunnerOptions) {
  const batch = parityBatch(name, prepared);
  const runner = await TrainStepRunner.create(prepared, loss, OPT, false, opts);
  const state = initialState(prepared, runner.slots);
  const out = [];
  for (let step = 1; step <= 3; step++) out.push(await runner.microBatch(state, { batch, weight: 1, last: true, scalars: { lr: 1e-3, step, maxGradNorm: 1, randomKey: 5 } }));
  await runner.release();
  return { out, state };
}

/** Losses to 1e-6 and gradient norms to 1e-5 relative, parameters to 1e-5. */
export function assertTrainedAlike(a: Awaited<ReturnType<typeof threeSteps>>, b: Awaited<ReturnType<typeof threeSteps>>) {
  a.out.forEach((r, i) => {
    assert.ok(Math.abs(r.loss - b.out[i].loss) <= 1e-6 * Math.abs(r.loss), `step ${i + 1} loss ${r.loss} vs ${b.out[i].loss}`);
    assert.ok(Math.abs(r.gradNorm! - b.out[i].gradNorm!) <= 1e-5 * r.gradNorm!, `step ${i + 1} grad norm`);
  });
  for (const [k, t] of a.state.params) {
    // An attention key bias has a true gradient of zero (softmax ignores a constant shift): its
    // gradient is rounding noise that Adam scales up to ±lr, so it cannot be compared.
    if (k.endsWith('key.bias')) continue;
    const other = b.state.params.get(k)!.data as Float32Array;
    (t.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - other[i]) < 1e-5, `${k}[${i}]`));
  }
}
