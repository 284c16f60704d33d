// Optimizer updates match PyTorch's algorithms (torch.optim.AdamW / Adam / SGD, written out
// below in float64 from PyTorch's documented update rules) over several steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { Graph } from '../../src/trainer/onnx/graph';
import { DataType } from '../../src/trainer/onnx/tensor';
import { OptimizerConfig, addOptimizerUpdate, hyperParameterNames, hyperParameterValues, optimizerSlots } from '../../src/trainer/programs/optimizers';
import { createSession } from '../../src/trainer/programs/session';
import { rng } from '../autodiff/gradcheck';

const N = 6;

function config(over: Partial<OptimizerConfig>): OptimizerConfig {
  return { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, momentum: 0, dampening: 0, nesterov: false, ...over };
}

async function compile(cfg: OptimizerConfig, decay: boolean) {
  const g = new Graph();
  g.opset = 20;
  const vec = (name: string) => g.inputs.push({ name, type: DataType.FLOAT, shape: [N] });
  const sc = (name: string) => g.inputs.push({ name, type: DataType.FLOAT, shape: [] });
  vec('p');
  vec('g');
  sc('scale');
  const slots = optimizerSlots(cfg);
  slots.forEach(vec);
  const hyper: Record<string, string> = {};
  for (const h of hyperParameterNames(cfg)) {
    sc(h);
    hyper[h] = h;
  }
  const b = new GraphBuilder(g);
  const u = addOptimizerUpdate(b, cfg, 'p', decay, 'g', 'scale', slots, hyper);
  const outs = ['p_next', ...slots.map((s) => `${s}_next`)];
  [u.param, ...u.state].forEach((v, i) => b.add('Identity', [v], {}, { outputs: [outs[i]] }));
  g.outputs = outs.map((name) => ({ name, type: DataType.FLOAT, shape: [N] }));
  return { session: await createSession(g), slots };
}

type Ref = (p: number[], g: number[], state: number[][], step: number, lr: number) => void;

/** torch.optim.AdamW (amsgrad=False, maximize=False). */
const adamwRef = (cfg: OptimizerConfig, decay: boolean): Ref => (p, g, [m, v], step, lr) => {
  for (let i = 0; i < N; i++) {
    if (decay) p[i] *= 1 - lr * cfg.weightDecay;
    m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * g[i];
    v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * g[i] * g[i];
    const denom = Math.sqrt(v[i]) / Math.sqrt(1 - cfg.beta2 ** step) + cfg.epsilon;
    p[i] -= (lr / (1 - cfg.beta1 ** step)) * (m[i] / denom);
  }
};

/** torch.optim.Adam with weight_decay: L2 added to the gradient. */
const adamRef = (cfg: OptimizerConfig, decay: boolean): Ref => (p, g0, [m, v], step, lr) => {
  const g = g0.map((x, i) => x + (decay ? cfg.weightDecay * p[i] : 0));
  for (let i = 0; i < N; i++) {
    m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * g[i];
    v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * g[i] * g[i];
    const denom = Math.sqrt(v[i]) / Math.sqrt(1 - cfg.beta2 ** step) + cfg.epsilon;
    p[i] -= (lr / (1 - cfg.beta1 ** step)) * (m[i] / denom);
  }
};

/** torch.optim.SGD: d = g + wd·p; buf = d on step 1, else μ·buf + (1 − dampening)·d; Nesterov d + μ·buf. */
const sgdRef = (cfg: OptimizerConfig, decay: boolean): Ref => (p, g, state, step, lr) => {
  for (let i = 0; i < N; i++) {
    let d = g[i] + (decay ? cfg.weightDecay * p[i] : 0);
    if (cfg.momentum) {
      const buf = state[0];
      buf[i] = step === 1 ? d : cfg.momentum * buf[i] + (1 - cfg.dampening) * d;
      d = cfg.nesterov ? d + cfg.momentum * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
};

const CASES: [string, OptimizerConfig, (c: OptimizerConfig, d: boolean) => Ref][] = [
  ['AdamW with decoupled weight decay', config({}), adamwRef],
  ['Adam with L2 weight decay', config({ name: 'adam' }), adamRef],
  ['SGD without momentum', config({ name: 'sgd', weightDecay: 0.01 }), sgdRef],
  ['SGD with momentum and dampening', config({ name: 'sgd', momentum: 0.9, dampening: 0.2, weightDecay: 0.01 }), sgdRef],
  ['SGD with Nesterov momentum', config({ name: 'sgd', momentum: 0.8, nesterov: true }), sgdRef],
];

for (const [label, cfg, makeRef] of CASES) {
  for (const decay of [true, false]) {
    test(`${label}${decay ? '' : ' (no-decay group)'} matches PyTorch's update rule over 5 steps`, async () => {
      const { session, slots } = await compile(cfg, decay);
      const rand = rng(7);
      let p = Array.from({ length: N }, () => rand() * 2 - 1);
      const expected = [...p];
      let state = slots.map(() => new Array(N).fill(0));
      const refState = slots.map(() => new Array(N).fill(0));
      const ref = makeRef(cfg, decay);
      for (let step = 1; step <= 5; step++) {
        const g = Array.from({ length: N }, () => rand() * 2 - 1);
        const lr = 0.01 * step;
        const scale = step === 3 ? 0.5 : 1; // a clipped step: the gradient enters scaled
        ref(expected, g.map((x) => x * scale), refState, step, lr);
        const feeds: Record<string, ort.Tensor> = {
          p: new ort.Tensor('float32', Float32Array.from(p), [N]),
          g: new ort.Tensor('float32', Float32Array.from(g), [N]),
          scale: new ort.Tensor('float32', Float32Array.of(scale), []),
        };
        slots.forEach((s, k) => (feeds[s] = new ort.Tensor('float32', Float32Array.from(state[k]), [N])));
        for (const [k, v] of Object.entries(hyperParameterValues(cfg, lr, step))) feeds[k] = new ort.Tensor('float32', Float32Array.of(v), []);
        const out = await session.run(feeds);
        p = Array.from(out.p_next.data as Float32Array);
        state = slots.map((s) => Array.from(out[`${s}_next`].data as Float32Array));
        p.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5 * Math.max(1, Math.abs(expected[i])), `step ${step}, element ${i}: ${v} vs ${expected[i]}`));
      }
    });
  }
}
