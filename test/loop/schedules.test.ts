// Learning rates equal Hugging Face's formulas at every step. The table was computed once with
// scripts/fixtures/lr_schedules.py (the formulas of the reference §3.3, typed independently in
// Python); update k uses lr0 · λ(k − 1), so entry t is the rate of optimizer step t + 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrLambda, validateSchedule, warmupSteps } from '../../src/trainer/loop/schedules';
import type { SchedulerType } from '../../src/trainer/config/trainingArguments';

const TABLE: { type: SchedulerType; total: number; warmup: number; kwargs: Record<string, number>; lr: number[] }[] = [
  { type: 'linear', total: 10, warmup: 2, kwargs: {}, lr: [0.0, 0.0005, 0.001, 0.000875, 0.00075, 0.000625, 0.0005, 0.000375, 0.00025, 0.000125] },
  { type: 'cosine', total: 10, warmup: 2, kwargs: {}, lr: [0.0, 0.0005, 0.001, 0.000961939766256, 0.000853553390593, 0.000691341716183, 0.0005, 0.000308658283817, 0.000146446609407, 3.80602337444e-05] },
  { type: 'cosine_with_restarts', total: 12, warmup: 2, kwargs: {'num_cycles': 2}, lr: [0.0, 0.0005, 0.001, 0.000904508497187, 0.000654508497187, 0.000345491502813, 9.54915028125e-05, 0.001, 0.000904508497187, 0.000654508497187, 0.000345491502813, 9.54915028125e-05] },
  { type: 'polynomial', total: 10, warmup: 2, kwargs: {'lr_end': 1e-05, 'power': 2.0}, lr: [0.0, 0.0005, 0.001, 0.00076796875, 0.000566875, 0.00039671875, 0.0002575, 0.00014921875, 7.1875e-05, 2.546875e-05] },
  { type: 'constant', total: 10, warmup: 3, kwargs: {}, lr: [0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001] },
  { type: 'constant_with_warmup', total: 10, warmup: 3, kwargs: {}, lr: [0.0, 0.000333333333333, 0.000666666666667, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001] },
  { type: 'inverse_sqrt', total: 10, warmup: 3, kwargs: {}, lr: [0.0, 0.000333333333333, 0.000666666666667, 0.001, 0.000866025403784, 0.000774596669241, 0.000707106781187, 0.000654653670708, 0.000612372435696, 0.00057735026919] },
  { type: 'cosine_with_min_lr', total: 10, warmup: 2, kwargs: {'min_lr': 0.0001}, lr: [0.0, 0.0005, 0.001, 0.00096574578963, 0.000868198051534, 0.000722207544564, 0.00055, 0.000377792455436, 0.000231801948466, 0.00013425421037] },
  { type: 'cosine_with_min_lr', total: 10, warmup: 0, kwargs: {'min_lr_rate': 0.2, 'num_cycles': 0.5}, lr: [0.001, 0.000980422606518, 0.00092360679775, 0.000835114100917, 0.00072360679775, 0.0006, 0.00047639320225, 0.000364885899083, 0.00027639320225, 0.000219577393482] },
];

for (const row of TABLE) {
  test(`${row.type} (T=${row.total}, W=${row.warmup}, ${JSON.stringify(row.kwargs)}) matches the table at every step`, () => {
    const spec = { type: row.type, total: row.total, warmup: row.warmup, lr0: 1e-3, kwargs: row.kwargs };
    validateSchedule(spec);
    row.lr.forEach((want, t) => {
      const got = 1e-3 * lrLambda(spec, t);
      assert.ok(Math.abs(got - want) <= 1e-12 + 1e-9 * Math.abs(want), `step ${t + 1}: ${got} vs ${want}`);
    });
  });
}

test('warmup: steps ≥ 1 are steps, values below 1 are a ratio rounded up, warmup_ratio is the fallback', () => {
  assert.equal(warmupSteps({ warmup_steps: 3, warmup_ratio: 0.5 }, 100), 3);
  assert.equal(warmupSteps({ warmup_steps: 0.1, warmup_ratio: 0 }, 96), 10);
  assert.equal(warmupSteps({ warmup_steps: 0, warmup_ratio: 0.34 }, 6), 3);
  assert.equal(warmupSteps({ warmup_steps: 0, warmup_ratio: 0 }, 6), 0);
});

test('the reference example: linear, lr 1e-3, T=6, W=ceil(6·0.34)=3 gives 0, 3.33e-4, 6.67e-4, 1e-3, 6.67e-4, 3.33e-4', () => {
  const spec = { type: 'linear' as const, total: 6, warmup: 3, lr0: 1e-3, kwargs: {} };
  const lrs = [0, 1, 2, 3, 4, 5].map((t) => 1e-3 * lrLambda(spec, t));
  [0, 3.333e-4, 6.667e-4, 1e-3, 6.667e-4, 3.333e-4].forEach((w, i) => assert.ok(Math.abs(lrs[i] - w) < 1e-7, `${lrs[i]} vs ${w}`));
});

test('cosine_with_min_lr needs exactly one of min_lr and min_lr_rate', () => {
  assert.throws(() => validateSchedule({ type: 'cosine_with_min_lr', total: 10, warmup: 0, lr0: 1e-3, kwargs: {} }), /exactly one of min_lr or min_lr_rate/);
});

test('polynomial needs learning_rate above lr_end', () => {
  assert.throws(() => validateSchedule({ type: 'polynomial', total: 10, warmup: 0, lr0: 1e-8, kwargs: {} }), /greater than lr_end/);
});
