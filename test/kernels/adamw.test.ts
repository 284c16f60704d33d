// The AdamW kernel (WebAssembly) against the optimizer program it replaces for float32 parameters:
// the same bits over several steps, for every configuration the kernel takes, lengths around its
// chunk and lane widths, a clipping coefficient, and non-finite gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { ADAMW_CHUNK, AdamWKernel, adamwKernelAvailable } from '../../src/trainer/kernels/adamw';
import { DataType, Tensor, fromNumbers } from '../../src/trainer/onnx/tensor';
import { OptimizerRunner } from '../../src/trainer/programs/optimizerRunner';
import { OptimizerConfig, adamwKernelScalars } from '../../src/trainer/programs/optimizers';
import { rng } from '../autodiff/gradcheck';

const BASE: OptimizerConfig = { name: 'adamw_torch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };

const CASES: { name: string; cfg: OptimizerConfig; decay: boolean; coef: number }[] = [
  { name: 'adamw_torch, decay group', cfg: BASE, decay: true, coef: 1 },
  { name: 'adamw_torch, no decay', cfg: BASE, decay: false, coef: 1 },
  { name: 'adamw_torch_fused, clipped', cfg: { ...BASE, name: 'adamw_torch_fused' }, decay: true, coef: 0.3172 },
  { name: 'adam without weight decay', cfg: { ...BASE, name: 'adam', weightDecay: 0 }, decay: true, coef: 0.5 },
  { name: 'adam, no-decay group', cfg: { ...BASE, name: 'adam', weightDecay: 0.1 }, decay: false, coef: 1 },
  { name: 'other betas and epsilon', cfg: { ...BASE, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1 }, decay: true, coef: 1 },
];

/** Lengths: under one lane group, not a multiple of four, exactly one chunk, several chunks and a tail. */
const LENGTHS = [1, 7, ADAMW_CHUNK, 2 * ADAMW_CHUNK + 5];

function randomVector(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  // Magnitudes from 1e-6 to 1e2 and some exact zeros: the division and the square root see both ends.
  for (let i = 0; i < n; i++) out[i] = i % 13 === 0 ? 0 : (r() * 2 - 1) * scale * 10 ** Math.floor(r() * 8 - 6);
  return out;
}

function sameBits(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: kernel ${a[i]}, program ${b[i]}`);
  }
}

/**
 * `resident`: the moments are the runner's own (in the kernel's memory, where the kernel takes the
 * parameter), and with 'all' the parameter is placed there too.
 */
async function train(cfg: OptimizerConfig, decay: boolean, coef: number, n: number, kernel: boolean, grads: Float32Array[], inPlace = true, resident: false | 'moments' | 'all' = false) {
  const params = new Map<string, Tensor>([['w', fromNumbers(DataType.FLOAT, [n], randomVector(n, 1, 1))]]);
  const moments = new Map<string, Tensor>();
  const runner = await OptimizerRunner.create(cfg, [{ name: 'w', decay, type: DataType.FLOAT, ...(resident ? { dims: [n] } : {}) }], { optimizerKernel: kernel }, 4096);
  for (const s of runner.slots) moments.set(`${s}/w`, resident ? runner.moment('w', DataType.FLOAT, [n]) : fromNumbers(DataType.FLOAT, [n], new Float32Array(n)));
  if (resident === 'all') {
    const placed = runner.place('w', params.get('w')!);
    assert.ok(placed && placed.buffer === moments.get('exp_avg/w')!.data.buffer, 'the parameter is placed beside its moments');
    assert.deepEqual(placed, params.get('w')!.data, 'with its values');
    params.get('w')!.data = placed;
  }
  for (let step = 1; step <= grads.length; step++) {
    const g = new Map([['w', fromNumbers(DataType.FLOAT, [n], grads[step - 1])]]);
    await runner.apply(params, moments, [{ name: 'w', decay }], g, new ort.Tensor('float32', Float32Array.of(coef), []), 1e-3 * step, step, inPlace);
  }
  await runner.release();
  return { p: params.get('w')!.data as Float32Array, m: moments.get('exp_avg/w')!.data as Float32Array, v: moments.get('exp_avg_sq/w')!.data as Float32Array };
}

test('WebAssembly SIMD is available for the kernel on this Node', () => {
  assert.equal(adamwKernelAvailable(), true);
});

for (const c of CASES) {
  for (const n of LENGTHS) {
    test(`AdamW kernel = optimizer program bit for bit: ${c.name}, ${n} elements, 3 steps`, async () => {
      assert.ok(adamwKernelScalars(c.cfg, c.decay, c.coef, 1e-3, 1), 'the kernel takes this configuration');
      const grads = [1, 2, 3].map((s) => randomVector(n, 10 + s, 3));
      const program = await train(c.cfg, c.decay, c.coef, n, false, grads);
      // Moments copied through the kernel's memory, moments living there, and the parameter too.
      for (const resident of [false, 'moments', 'all'] as const) {
        const kernel = await train(c.cfg, c.decay, c.coef, n, true, grads, true, resident);
        sameBits(kernel.p, program.p, `parameter (resident: ${resident})`);
        sameBits(kernel.m, program.m, `exp_avg (resident: ${resident})`);
        sameBits(kernel.v, program.v, `exp_avg_sq (resident: ${resident})`);
      }
    });
  }
}

test('non-finite gradients give what the program gives (NaN and infinities propagate the same way)', async () => {
  const n = 37;
  const g = randomVector(n, 5, 1);
  g[3] = NaN;
  g[10] = Infinity;
  g[20] = -Infinity;
  const kernel = await train(BASE, true, 1, n, true, [g]);
  const program = await train(BASE, true, 1, n, false, [g]);
  sameBits(kernel.p, program.p, 'parameter');
  sameBits(kernel.m, program.m, 'exp_avg');
  sameBits(kernel.v, program.v, 'exp_avg_sq');
  assert.ok(Number.isNaN(kernel.p[3]) && Number.isNaN(kernel.p[10]), 'the update is not finite where the gradient is not');
});

test('updates into new tensors (the runner\'s inPlace: false) give the same bits through the kernel as through the program', async () => {
  const n = ADAMW_CHUNK + 3;
  const grads = [1, 2].map((s) => randomVector(n, 20 + s, 2));
  const kernel = await train(BASE, true, 0.7, n, true, grads, false);
  const program = await train(BASE, true, 0.7, n, false, grads, false);
  sameBits(kernel.p, program.p, 'parameter');
  sameBits(kernel.m, program.m, 'exp_avg');
  sameBits(kernel.v, program.v, 'exp_avg_sq');
});

test('configurations of another form (SGD, Adam with L2 decay) are left to the program', () => {
  assert.equal(adamwKernelScalars({ ...BASE, name: 'sgd', momentum: 0.9 }, true, 1, 1e-3, 1), undefined);
  assert.equal(adamwKernelScalars({ ...BASE, name: 'adam', weightDecay: 0.1 }, true, 1, 1e-3, 1), undefined);
});

test('the kernel writes into other buffers when given them, leaving its inputs as they were', () => {
  const n = 2 * ADAMW_CHUNK + 3;
  const [p, g, m, v] = [1, 2, 3, 4].map((s) => randomVector(n, s, 1).map(Math.abs));
  const before = [p, g, m, v].map((a) => a.slice());
  const into = { p: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
  const s = adamwKernelScalars(BASE, true, 1, 1e-3, 2)!;
  const kernel = new AdamWKernel();
  kernel.update(p, g, m, v, s, into);
  [p, g, m, v].forEach((a, k) => assert.deepEqual(a, before[k]));
  kernel.update(p, g, m, v, s);
  assert.deepEqual(p, into.p);
  assert.deepEqual(m, into.m);
  assert.deepEqual(v, into.v);
  assert.throws(() => kernel.update(p, g.subarray(1), m, v, s), /lengths differ/);
});

test('parameters and moments of several parameters live side by side in one kernel\'s memory, each on its own 16-byte lanes, and update as the program updates them; a parameter or moment from elsewhere is copied through', async () => {
  const lengths = [1, 7, ADAMW_CHUNK, 2 * ADAMW_CHUNK + 5, 3];
  const params = lengths.map((n, k) => ({ name: `w${k}`, decay: k % 2 === 0, type: DataType.FLOAT, dims: [n] }));
  const run = async (kernel: boolean) => {
    const runner = await OptimizerRunner.create(BASE, params, { optimizerKernel: kernel }, 4096);
    const state = new Map(params.map((p, k) => [p.name, fromNumbers(DataType.FLOAT, p.dims, randomVector(p.dims[0], 30 + k, 1))]));
    const moments = new Map<string, Tensor>();
    // The last parameter's moments are plain buffers: the kernel copies them through.
    for (const p of params) for (const s of runner.slots) moments.set(`${s}/${p.name}`, p.name === 'w4' ? fromNumbers(DataType.FLOAT, p.dims, new Float32Array(p.dims[0])) : runner.moment(p.name, DataType.FLOAT, p.dims));
    // Parameters placed between the moments, except w2, which stays a plain buffer.
    for (const p of params) {
      const placed = kernel && p.name !== 'w2' ? runner.place(p.name, state.get(p.name)!) : undefined;
      if (placed) state.get(p.name)!.data = placed;
      else if (kernel) assert.equal(p.name, 'w2', `${p.name} is placed`);
    }
    if (kernel) assert.equal(runner.place('w0', state.get('w0')!), undefined, 'a parameter is placed once');
    for (let step = 1; step <= 3; step++) {
      const grads = new Map(params.map((p, k) => [p.name, fromNumbers(DataType.FLOAT, p.dims, randomVector(p.dims[0], 40 + 10 * step + k, 2))]));
      await runner.apply(state, moments, params, grads, new ort.Tensor('float32', Float32Array.of(0.8), []), 1e-3, step, true);
    }
    await runner.release();
    return { state, moments };
  };
  const kernel = await run(true);
  const program = await run(false);
  for (const p of params) {
    sameBits(kernel.state.get(p.name)!.data as Float32Array, program.state.get(p.name)!.data as Float32Array, `${p.name}`);
    for (const s of ['exp_avg', 'exp_avg_sq']) sameBits(kernel.moments.get(`${s}/${p.name}`)!.data as Float32Array, program.moments.get(`${s}/${p.name}`)!.data as Float32Array, `${s}/${p.name}`);
  }
  const resident = [
    ...params.slice(0, 4).flatMap((p) => ['exp_avg', 'exp_avg_sq'].map((s) => kernel.moments.get(`${s}/${p.name}`)!.data as Float32Array)),
    ...['w0', 'w1', 'w3', 'w4'].map((p) => kernel.state.get(p)!.data as Float32Array),
  ];
  assert.ok(resident.every((m) => m.buffer === resident[0].buffer && m.byteOffset % 16 === 0), 'one memory, aligned lanes');
  assert.ok(resident[0].buffer !== (kernel.moments.get('exp_avg/w4')!.data as Float32Array).buffer);
  assert.ok(resident[0].buffer !== (kernel.state.get('w2')!.data as Float32Array).buffer);
});

test('where the memory cannot grow to hold parameters and moments, the moments alone live there; where not even those, everything is copied through', async () => {
  const n = 3 * ADAMW_CHUNK + 5;
  const params = [{ name: 'w', decay: true, type: DataType.FLOAT, dims: [n] }];
  const limits: [number, boolean, boolean][] = [[Infinity, true, true], [(4 * ADAMW_CHUNK + 2.5 * n) * 4, true, false], [(4 * ADAMW_CHUNK + n) * 4, false, false]];
  try {
    for (const [limit, moments, parameter] of limits) {
      AdamWKernel.growLimitBytes = limit;
      const runner = await OptimizerRunner.create(BASE, params, {}, 4096);
      const p = fromNumbers(DataType.FLOAT, [n], randomVector(n, 7, 1));
      const m = runner.moment('w', DataType.FLOAT, [n]);
      const placed = runner.place('w', p);
      assert.equal(placed !== undefined, parameter, `limit ${limit}: parameter placed`);
      assert.equal(placed === undefined ? false : m.data.buffer === placed.buffer, parameter, `limit ${limit}: beside its moment`);
      // A moment in the kernel's memory is 16-byte aligned; a JavaScript buffer starts at 0.
      assert.equal(m.data.byteOffset > 0, moments, `limit ${limit}: moment in the kernel's memory`);
      await runner.release();
    }
  } finally {
    AdamWKernel.growLimitBytes = Infinity;
  }
});
