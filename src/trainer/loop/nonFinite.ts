// The non-finite policy: a float32 step whose loss or gradient norm is NaN or infinite has
// already poisoned the weights it returned, so the run stops there (nan_policy: stop, the
// default) before anything is saved, or the step graph leaves the weights unchanged
// (nan_policy: skip_step, like fp16's skipped steps). And whatever the policy, no checkpoint or
// model with a non-finite weight is ever written: the last good checkpoint stays the latest.

import * as path from 'node:path';
import { Tensor } from '../onnx/tensor';

/** A run stopped by a non-finite value: a failure while running (exit code 1). */
export class NonFiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

function describe(value: number): string {
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'inf' : '-inf';
}

/** The error for a step whose loss or gradient norm is not finite, naming the step and what is left to resume from. */
export function nonFiniteStep(step: number, loss: number, gradNorm: number, lastGood: string | undefined): NonFiniteError {
  const what = !Number.isFinite(loss) ? `the loss is ${describe(loss)}` : `the gradient norm is ${describe(gradNorm)}`;
  const left = lastGood ? `the latest checkpoint is still the good ${path.basename(lastGood)}` : 'no checkpoint was written';
  return new NonFiniteError(`step ${step}: ${what}; training stopped before saving anything from it (${left}). ` +
    'Lower learning_rate, check the data for huge values, or set training.nan_policy: skip_step');
}

/** Throws unless every float value of `tensors` is finite; `what` names the file about to be written. */
export function assertFiniteWeights(tensors: Map<string, Tensor>, what: string): void {
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) continue;
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) {
        throw new NonFiniteError(`not writing ${what}: weight "${name}" holds ${describe(t.data[i])} (element ${i}); the run diverged`);
      }
    }
  }
}
