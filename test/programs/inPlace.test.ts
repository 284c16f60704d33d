// Updates written over the state's own buffers (inPlace.ts) train exactly as updates written to
// new tensors: same losses, gradient norms, parameters, moments and batch-norm statistics, bit
// for bit, for every train-step variant; and the rule refuses what would read an overwritten value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { Graph } from '../../src/trainer/onnx/graph';
import { loadModel } from '../../src/trainer/onnx/model';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { TrainStepRunner, TrainingState, initialState } from '../../src/trainer/programs/executor';
import { inPlacePairs } from '../../src/trainer/programs/inPlace';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { compileOptimizerStep } from '../../src/trainer/programs/optimizerStep';
import { collectGarbage } from '../../src/trainer/programs/session';
import { FIXTURES } from '../helpers';
import { parityBatch } from './parityBatch';

const OPT = { name: 'adamw_torch' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };

const CASES = [
  { name: 'mlp', labels: 3 },
  { name: 'cnn', labels: 3 },
  { name: 'bert', labels: 2 },
  { name: 'transformer', labels: 2 },
];

function sameState(a: TrainingState, b: TrainingState) {
  for (const part of ['params', 'buffers', 'optimizer'] as const) {
    for (const [k, t] of a[part]) assert.deepEqual(t.data, b[part].get(k)!.data, `${part} ${k}`);
  }
}

for (const c of CASES) {
  for (const variant of ['step', 'accumulation', 'skip non-finite'] as const) {
    test(`${c.name}, ${variant}: updates in place train bit for bit as updates into new tensors`, async () => {
      const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', c.name, 'model.onnx')));
      const loss = { problemType: 'single_label_classification' as const, numLabels: c.labels };
      const batch = parityBatch(c.name, prepared);
      const accumulation = variant === 'accumulation';
      const run = async (inPlace: boolean) => {
        const runner = await TrainStepRunner.create(prepared, loss, OPT, accumulation, { inPlace, skipNonFinite: variant === 'skip non-finite' });
        // In place, as the Trainer runs: AdamW's moments and parameters in its kernel's memory.
        const state = initialState(prepared, runner.slots, inPlace ? { moment: runner.moment, place: runner.place } : {});
        const first = [...state.params.values()][0];
        if (inPlace) assert.equal(first.data.buffer, state.optimizer.get(`exp_avg/${[...state.params.keys()][0]}`)!.data.buffer, 'placed beside its moments');
        const out = [];
        for (let step = 1; step <= 3; step++) {
          const scalars = { lr: 1e-3, step, maxGradNorm: 1, randomKey: 5 };
          if (accumulation) await runner.microBatch(state, { batch, weight: 0.5, last: false, scalars });
          out.push(await runner.microBatch(state, { batch, weight: 0.5, last: true, scalars }));
        }
        await runner.release();
        return { out, state, kept: [...state.params.values()][0] === first };
      };
      const fresh = await run(false);
      const inPlace = await run(true);
      assert.deepEqual(inPlace.out, fresh.out);
      sameState(inPlace.state, fresh.state);
      assert.equal(inPlace.kept, true, 'the state tensor was updated where it lies (in the kernel\'s memory)');
      assert.equal(fresh.kept, false, 'without in-place updates each step returns new tensors');
    });
  }

  test(`${c.name}: the train step updates every batch-norm statistic in place, and "final" writes the window's gradients over its sums`, () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', c.name, 'model.onnx')));
    const loss = { problemType: 'single_label_classification' as const, numLabels: c.labels };
    const statistics = prepared.buffers.length;
    assert.equal(compileTrainStep(prepared, loss, 'step').inPlace.length, statistics);
    assert.equal(compileTrainStep(prepared, loss, 'final').inPlace.length, statistics + prepared.params.length);
    assert.equal(compileTrainStep(prepared, loss, 'accumulate').inPlace.length, statistics + prepared.params.length);
  });

  test(`${c.name}: an optimizer updated over chunks of 7 elements trains bit for bit as over whole tensors`, async () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', c.name, 'model.onnx')));
    const loss = { problemType: 'single_label_classification' as const, numLabels: c.labels };
    const batch = parityBatch(c.name, prepared);
    const run = async (optimizerChunk?: number) => {
      const runner = await TrainStepRunner.create(prepared, loss, OPT, false, { optimizerChunk });
      const state = initialState(prepared, runner.slots);
      const out = [];
      for (let step = 1; step <= 2; step++) out.push(await runner.microBatch(state, { batch, weight: 1, last: true, scalars: { lr: 1e-3, step, maxGradNorm: 1, randomKey: 5 } }));
      await runner.release();
      return { out, state };
    };
    const whole = await run();
    const chunked = await run(7);
    assert.ok(prepared.params.some((p) => p.dims.reduce((a, b) => a * b, 1) > 7), 'some parameter spans several chunks');
    assert.deepEqual(chunked.out, whole.out);
    sameState(chunked.state, whole.state);
  });
}

for (const [name, cfg] of Object.entries({
  adamw: OPT,
  'adam with L2 decay': { ...OPT, name: 'adam' as const },
  'sgd with momentum': { ...OPT, name: 'sgd' as const, momentum: 0.9 },
  'sgd, nesterov': { ...OPT, name: 'sgd' as const, momentum: 0.9, nesterov: true },
  'sgd without momentum': { ...OPT, name: 'sgd' as const },
})) {
  for (const decay of [true, false]) {
    test(`the optimizer program (${name}${decay ? ', decayed' : ''}) writes the parameter and every moment in place`, () => {
      const compiled = compileOptimizerStep(cfg, decay, DataType.FLOAT);
      assert.equal(compiled.inPlace.length, 1 + compiled.slots.length);
      assert.equal(compiled.graph.outputs.length, 1 + compiled.slots.length);
    });
  }
}

/** p_next = p - 0.1·g, where g comes from `gradient` and another node may read p. */
function tinyGraph(extra: (g: Graph) => void): Graph {
  const g = new Graph();
  g.inputs = [{ name: 'p', type: DataType.FLOAT, shape: [4] }, { name: 'x', type: DataType.FLOAT, shape: [4] }];
  g.initializers.set('lr', fromNumbers(DataType.FLOAT, [], [0.1]));
  const node = (op: string, inputs: string[], outputs: string[]) => g.nodes.push({ name: outputs[0], op, domain: '', inputs, outputs, attrs: new Map() });
  node('Mul', ['x', 'lr'], ['step']);
  node('Sub', ['p', 'step'], ['p_new']);
  node('Identity', ['p_new'], ['p_next']);
  g.outputs = [{ name: 'p_next', type: DataType.FLOAT, shape: [4] }];
  extra(g);
  return g;
}

const PAIR = [{ input: 'p', output: 'p_next' }];

test('the in-place rule: an elementwise writer whose other readers all ran before it', () => {
  assert.deepEqual(inPlacePairs(tinyGraph(() => {}), PAIR), PAIR);
  // A reader that the writer waits for (its value feeds the update) is fine.
  assert.deepEqual(inPlacePairs(tinyGraph((g) => {
    g.nodes.unshift({ name: 'r', op: 'Mul', domain: '', inputs: ['p', 'x'], outputs: ['px'], attrs: new Map() });
    g.nodes[2].inputs = ['x', 'px'];
  }), PAIR), PAIR);
});

test('the in-place rule refuses a reader that may run after the writer', () => {
  const g = tinyGraph((graph) => {
    graph.nodes.push({ name: 'late', op: 'Neg', domain: '', inputs: ['p'], outputs: ['minus_p'], attrs: new Map() });
    graph.outputs.push({ name: 'minus_p', type: DataType.FLOAT, shape: [4] });
  });
  assert.deepEqual(inPlacePairs(g, PAIR), []);
});

test('the in-place rule refuses a writer that is not elementwise, and an input that is also an output', () => {
  const matmul = tinyGraph((graph) => {
    graph.nodes[1] = { name: 'mm', op: 'MatMul', domain: '', inputs: ['p', 'step'], outputs: ['p_new'], attrs: new Map() };
  });
  assert.deepEqual(inPlacePairs(matmul, PAIR), []);
  const echoed = tinyGraph((graph) => graph.outputs.push({ name: 'p', type: DataType.FLOAT, shape: [4] }));
  assert.deepEqual(inPlacePairs(echoed, PAIR), []);
});

test('adopted parameters placed in the AdamW kernel\'s memory stay the model\'s own tensors and train there', async () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'cnn', 'model.onnx')));
  const loss = { problemType: 'single_label_classification' as const, numLabels: 3 };
  const runner = await TrainStepRunner.create(prepared, loss, OPT, false);
  const name = prepared.params[0].name;
  const own = prepared.graph.initializers.get(name)!;
  const before = Float32Array.from(own.data as Float32Array);
  const state = initialState(prepared, runner.slots, { adopt: true, moment: runner.moment, place: runner.place });
  assert.equal(state.params.get(name), own, 'the state holds the model\'s tensor object');
  assert.equal(own.data.buffer, state.optimizer.get(`exp_avg/${name}`)!.data.buffer, 'whose values moved beside the moments');
  assert.deepEqual(own.data, before, 'unchanged by the move');
  await runner.microBatch(state, { batch: parityBatch('cnn', prepared), weight: 1, last: true, scalars: { lr: 1e-2, step: 1, maxGradNorm: 1, randomKey: 0 } });
  assert.notDeepEqual(own.data, before, 'the model\'s tensor holds the trained values');
  await runner.release();
});

test('collectGarbage collects now (what initialState calls once the weights have moved)', async () => {
  let held: ArrayBuffer | undefined = new ArrayBuffer(64 << 20);
  const ref = new WeakRef(held);
  held = undefined;
  // A WeakRef keeps its target through the job that made it.
  await new Promise((r) => setImmediate(r));
  collectGarbage();
  assert.equal(ref.deref(), undefined);
  assert.equal(vm.runInNewContext('typeof gc'), 'undefined', 'contexts made later get no global gc');
});
