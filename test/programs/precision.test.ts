// Mixed precision: fp16 trains like float32 (parameters and optimizer state stay float32), its
// loss scale skips steps whose gradients overflow as GradScaler does, and bf16 is refused where
// the execution provider has no bfloat16 kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePythonJson } from '../../src/trainer/loop/state';
import { loadModel } from '../../src/trainer/onnx/model';
import { DataType, bfloat16Bits, elementValue, float16Bits } from '../../src/trainer/onnx/tensor';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { IO, compileTrainStep } from '../../src/trainer/programs/trainStep';
import { FIXTURES, runCli, tempDir, writeConfig } from '../helpers';

type Entry = Record<string, number>;

function history(dir: string, out: string): Entry[] {
  const state = parsePythonJson(fs.readFileSync(path.join(dir, out, 'trainer_state.json'), 'utf8')) as { log_history: Entry[] };
  return state.log_history.filter((e) => 'loss' in e);
}

test('half-precision bit patterns round to nearest even and decode back', () => {
  const h = (v: number) => elementValue({ type: DataType.FLOAT16, dims: [], data: Uint16Array.of(float16Bits(v)) }, 0);
  assert.equal(h(1), 1);
  assert.equal(h(65504), 65504);
  assert.equal(h(70000), Infinity);
  assert.equal(h(-2.5), -2.5);
  assert.equal(h(1 + 2 ** -11), 1, 'a tie rounds to even');
  assert.equal(h(2 ** -24), 2 ** -24, 'the smallest subnormal');
  const bf = (v: number) => elementValue({ type: DataType.BFLOAT16, dims: [], data: Uint16Array.of(bfloat16Bits(v)) }, 0);
  assert.equal(bf(1), 1);
  assert.equal(bf(3.140625), 3.140625);
  assert.ok(Number.isNaN(bf(NaN)));
});

test('the fp16 train step computes in float16 and keeps parameters and optimizer state float32', () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'parity', 'bert', 'model.onnx')));
  const { graph } = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 2 }, 'step', { precision: 'fp16' });
  const inputType = new Map(graph.inputs.map((i) => [i.name, i.type]));
  const outputType = new Map(graph.outputs.map((o) => [o.name, o.type]));
  const params = prepared.params.map((p) => p.name);
  assert.ok(params.length > 10);
  for (const p of params) {
    assert.equal(inputType.get(p), DataType.FLOAT, `${p} is fed float32`);
    assert.equal(outputType.get(IO.grad(p)), DataType.FLOAT, `${p}'s gradient comes out float32, for the float32 optimizer update`);
    const cast = graph.nodes.find((n) => n.op === 'Cast' && n.inputs[0] === p);
    assert.ok(cast && cast.attrs.get('to')?.value === DataType.FLOAT16, `${p} enters the forward pass through a Cast to float16`);
  }
  // No matrix product reads a float32 parameter: they all run on the float16 copies.
  const raw = new Set(params);
  for (const n of graph.nodes.filter((n) => n.op === 'MatMul' || n.op === 'Gemm')) {
    assert.ok(!n.inputs.some((i) => raw.has(i)), `${n.name} reads a float32 parameter`);
  }
  assert.equal(inputType.get(IO.lossScale), DataType.FLOAT);
  assert.ok(graph.initializers.size === 0 || [...graph.initializers.values()].every((t) => t.type !== DataType.FLOAT || t.dims.length === 0),
    'the model\'s float constants became float16');
});

// PyTorch's float32 training of the parity models (test/fixtures/parity): fp16 stays within 1%.
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-2 * Math.abs(b);

for (const model of ['mlp', 'cnn', 'bert', 'transformer']) {
  test(`fp16 training of the ${model} parity model follows PyTorch's float32 training`, () => {
    const dir = tempDir(`fp16-${model}`);
    const src = path.join(FIXTURES, 'parity', model);
    for (const f of ['model.onnx', 'train.jsonl']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    // The fixture's config ends with its training section.
    fs.writeFileSync(path.join(dir, 'trainer.yaml'), fs.readFileSync(path.join(src, 'trainer.yaml'), 'utf8').trimEnd() + '\n  fp16: true\n');
    const r = runCli(['train', path.join(dir, 'trainer.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const expected = (JSON.parse(fs.readFileSync(path.join(src, 'expected.json'), 'utf8')) as { steps: Entry[] }).steps;
    const got = history(dir, 'out');
    assert.equal(got.length, expected.length);
    got.forEach((e, i) => {
      assert.ok(near(e.loss, expected[i].loss), `step ${e.step}: loss ${e.loss} vs ${expected[i].loss}`);
      assert.ok(near(e.grad_norm, expected[i].grad_norm), `step ${e.step}: grad_norm ${e.grad_norm} vs ${expected[i].grad_norm}`);
    });
  });
}

test('fp16 with gradient accumulation and gradient checkpointing follows float32', () => {
  const dir = tempDir('fp16-bert-ga');
  const src = path.join(FIXTURES, 'parity', 'bert');
  for (const f of ['model.onnx', 'train.jsonl']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  const run = (out: string, fp16: boolean) => {
    const r = runCli(['train', writeConfig(dir, {
      model: { path: 'model.onnx', num_labels: 2 }, data: { train: 'train.jsonl' },
      training: { output_dir: out, max_steps: 6, per_device_train_batch_size: 4, gradient_accumulation_steps: 2, gradient_checkpointing: true, learning_rate: 0.005, logging_steps: 1, save_strategy: 'no', fp16 },
    }, `${out}.yaml`)]);
    assert.equal(r.code, 0, r.stderr);
    return history(dir, out);
  };
  const full = run('fp32', false);
  const half = run('fp16', true);
  assert.equal(half.length, 6);
  assert.ok(half.some((e, i) => e.grad_norm !== full[i].grad_norm), 'fp16 rounds: the runs are not bit for bit equal');
  half.forEach((e, i) => {
    assert.ok(near(e.loss, full[i].loss), `step ${e.step}: loss ${e.loss} vs ${full[i].loss}`);
    assert.ok(near(e.grad_norm, full[i].grad_norm), `step ${e.step}: grad_norm ${e.grad_norm} vs ${full[i].grad_norm}`);
  });
});

// onnxruntime's CPU provider has few float16 kernels: it runs the graph's fp16 arithmetic in
// float32 (casts inserted, Cast pairs removed), so values that would overflow fp16 on a GPU do
// not overflow here. These runs overflow float32 instead: with inputs near 3e8, the squared
// gradients scaled by 2^16 exceed float32's range until the scale has been halved enough.
function overflowRun(dir: string, out: string, training: Record<string, unknown>) {
  const a = 3e8;
  const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ features: [a * Math.sin(i + 1), a * Math.cos(i)], labels: a * Math.sin(2 * i) }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  const r = runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [8], num_labels: 1 }, data: { train: 'train.jsonl' },
    training: { output_dir: out, max_steps: 20, per_device_train_batch_size: 16, learning_rate: 0.001, logging_steps: 1, save_strategy: 'no', fp16: true, lr_scheduler_type: 'linear', ...training },
  }, `${out}.yaml`)]);
  assert.equal(r.code, 0, r.stderr);
  return history(dir, out);
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.abs(b);

test('fp16 skips steps whose gradients overflow: nothing changes, the schedule waits, the scale halves', () => {
  const dir = tempDir('fp16-overflow');
  const logs = overflowRun(dir, 'out', { save_strategy: 'steps', save_steps: 20 });
  const skipped = logs.filter((e) => !Number.isFinite(e.grad_norm));
  const applied = logs.filter((e) => Number.isFinite(e.grad_norm));
  assert.ok(skipped.length > 0 && applied.length > 0, `${skipped.length} skipped, ${applied.length} applied`);
  assert.ok(skipped.every((e) => e.step < applied[0].step), 'overflows come first, until the scale is small enough');
  // Skipped steps change no parameter: the loss stays put, and the schedule does not advance.
  for (const e of [...skipped, applied[0]]) {
    assert.ok(close(e.loss, logs[0].loss), `step ${e.step}: loss ${e.loss} vs ${logs[0].loss}`);
    assert.equal(e.learning_rate, 0.001, `step ${e.step}: the schedule's first rate`);
  }
  assert.equal(applied[1].learning_rate, 0.001 * (1 - 1 / 20), 'the schedule advances once per applied update');
  assert.ok(applied[applied.length - 1].loss < applied[0].loss, 'then training makes progress');
  // GradScaler's state: halved once per overflow, counting the good steps since.
  const scaler = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'checkpoint-20', 'scaler.json'), 'utf8'));
  assert.deepEqual(scaler, { scale: 2 ** (16 - skipped.length), growth_tracker: applied.length });
});

test('fp16 resumes with its loss scale: a run stopped among the overflows continues as if never stopped', () => {
  const dir = tempDir('fp16-resume');
  const straight = overflowRun(dir, 'a', {});
  overflowRun(dir, 'b', { max_steps: 4, save_strategy: 'steps', save_steps: 4 });
  const resumed = overflowRun(dir, 'b', { resume_from_checkpoint: 'b/checkpoint-4' });
  assert.equal(resumed.length, straight.length);
  resumed.forEach((e, i) => {
    const s = straight[i];
    assert.equal(e.step, s.step);
    assert.equal(Number.isFinite(e.grad_norm), Number.isFinite(s.grad_norm), `step ${e.step}: same steps skipped`);
    assert.equal(e.learning_rate, s.learning_rate, `step ${e.step}: learning_rate`);
    assert.ok(close(e.loss, s.loss), `step ${e.step}: loss ${e.loss} vs ${s.loss}`);
  });
});

test('bf16 on the CPU is refused with the reason', () => {
  const dir = tempDir('bf16');
  fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"features": [1, 2], "labels": 0}\n{"features": [2, 1], "labels": 1}\n');
  const r = runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', num_labels: 2 }, data: { train: 'train.jsonl' }, training: { output_dir: 'out', bf16: true },
  })]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /training\.bf16: bf16 needs the CUDA execution provider: onnxruntime's CPU provider has no bfloat16 kernels/);
  assert.ok(!fs.existsSync(path.join(dir, 'out')), 'refused before anything is written');
});
