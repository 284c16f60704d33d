// Acceptance for real exports: Hugging Face models exported by PyTorch 2.13 with both exporters
// (test/fixtures/exports/, copied from shared/fixtures/exports; README.md there says how they
// were made). For each case `check` counts PyTorch's trainable parameters, `train` reproduces
// Hugging Face Trainer's log step by step, and the model written at a checkpoint loads in
// onnxruntime and gives logits whose loss is the one Trainer logged next (the forward pass of
// step 8 runs on the weights after 7 updates). The case list is the folders' listing: the shared
// fixtures, and more families made the same way (test/fixtures/exports-probe/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES, copyFixture, readJson, runCli, tempDir } from '../helpers';
import { loadModel } from '../../src/trainer/onnx/model';
import { DataType } from '../../src/trainer/onnx/tensor';

const TOLERANCE = 2e-3;
const CASES = ['exports', 'exports-probe'].flatMap((folder) => {
  const dir = path.join(FIXTURES, folder);
  return fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isDirectory()).sort().map((name) => ({ name, fixture: path.join(dir, name) }));
});

interface Expected { loss: number[]; learning_rate: number[]; grad_norm: number[]; epoch: number[] }

/** The fixtures' contract: |got − want| / max(|want|, 1e-3). */
function relative(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), 1e-3);
}

/** Trainable values `check` reports ("trainable parameters: N tensors, X values"). */
function checkedCount(model: string): number {
  const r = runCli(['check', model]);
  const m = /trainable parameters: \d+ tensors, ([\d,]+) values/.exec(r.stdout);
  assert.ok(m, `check printed no parameter count:\n${r.stdout}\n${r.stderr}`);
  return Number(m[1].replace(/,/g, ''));
}

async function logitsOf(modelFile: string, sourceModel: string, rows: Record<string, unknown>[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const inputs = loadModel(sourceModel).graph.inputs;
  const session = await ort.InferenceSession.create(modelFile);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const values = rows.map((r) => r[input.name]);
    const dims = [rows.length];
    for (let v: unknown = values[0]; Array.isArray(v); v = v[0]) dims.push(v.length);
    const flat = values.flat(Infinity) as number[];
    feeds[input.name] = input.type === DataType.INT64
      ? new ort.Tensor('int64', BigInt64Array.from(flat.map((x) => BigInt(x))), dims)
      : new ort.Tensor('float32', Float32Array.from(flat), dims);
  }
  const out = await session.run(feeds);
  const logits = out[session.outputNames[0]];
  await session.release();
  return { data: logits.data as Float32Array, dims: logits.dims };
}

function crossEntropy(logits: Float32Array, classes: number, labels: number[]): number {
  let sum = 0;
  labels.forEach((label, i) => {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    sum += lse - row[label];
  });
  return sum / labels.length;
}

for (const { name, fixture } of CASES) {
  const exportInfo = readJson(path.join(fixture, 'export.json')) as { batchnorm_folded?: boolean; batchnorm_nodes?: number; parameters_folded?: string };
  const params = readJson(path.join(fixture, 'params.json')) as { trainable_parameters: number; trainable_parameters_with_gradient?: number };
  // A parameter the exported graph never reads (DINOv2's mask_token, used only with
  // bool_masked_pos) gets no gradient in PyTorch either and cannot be in the file: where the
  // generator recorded the count of parameters that receive a gradient, that is the one to match.
  const counted = params.trainable_parameters_with_gradient ?? params.trainable_parameters;

  if (exportInfo.batchnorm_folded) {
    // Not a parity case: the default eval-mode export folded BatchNorm into Conv, and the file
    // cannot reproduce batch statistics. What matters is that the user is told.
    test(`${name}: check and train warn that BatchNorm was folded into Conv`, () => {
      const dir = tempDir(`exports-${name}`);
      copyFixture(fixture, dir);
      const check = runCli(['check', path.join(dir, 'model.onnx')]);
      assert.match(check.stdout, /warning: .*BatchNorm folded into their weights/);
      const r = runCli(['train', path.join(dir, 'trainer.json')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: .*TrainingMode\.TRAINING/);
    });
    continue;
  }

  // A file whose exporter folded parameters together cannot list PyTorch's; export.json says why.
  if (!exportInfo.parameters_folded) test(`${name}: check counts PyTorch's ${counted} trainable parameters`, () => {
    // `check CONFIG` trains what the config says (model.tie_identical for ALBERT's shared layers).
    assert.equal(checkedCount(path.join(fixture, 'trainer.json')), counted);
  });

  test(`${name}: trains like Hugging Face Trainer step by step, and its checkpoint model gives the next loss`, async () => {
    const dir = tempDir(`exports-${name}`);
    copyFixture(fixture, dir);
    const config = readJson(path.join(dir, 'trainer.json')) as { training: Record<string, unknown> };
    Object.assign(config.training, { save_strategy: 'steps', save_steps: 7 });
    fs.writeFileSync(path.join(dir, 'trainer.json'), JSON.stringify(config));
    const r = runCli(['train', path.join(dir, 'trainer.json')]);
    assert.equal(r.code, 0, r.stderr);

    const want = readJson(path.join(fixture, 'expected.json')) as unknown as Expected;
    const state = readJson(path.join(dir, 'out', 'trainer_state.json')) as { log_history: Record<string, number>[] };
    const logs = state.log_history.filter((e) => 'loss' in e);
    assert.equal(logs.length, want.loss.length);
    for (const key of ['loss', 'learning_rate', 'grad_norm', 'epoch'] as const) {
      want[key].forEach((w, i) => {
        assert.ok(relative(logs[i][key], w) <= TOLERANCE, `step ${i + 1}: ${key} ${logs[i][key]} vs Trainer's ${w}`);
      });
    }

    const rows = fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const labels = rows.map((row) => row.labels ?? row.label) as number[];
    const checkpointModel = path.join(dir, 'out', 'checkpoint-7', 'model.onnx');
    const logits = await logitsOf(checkpointModel, path.join(fixture, 'model.onnx'), rows);
    assert.deepEqual(logits.dims, [rows.length, logits.dims[1]]);
    assert.ok(logits.data.every(Number.isFinite));
    if (!exportInfo.batchnorm_nodes) {
      // With BatchNorm, Trainer's step-8 loss used batch statistics and the exported model
      // (inference form) uses running ones, so the loss comparison only holds without it.
      const loss = crossEntropy(logits.data, logits.dims[1], labels);
      assert.ok(relative(loss, want.loss[7]) <= TOLERANCE, `checkpoint-7 model's loss ${loss} vs Trainer's step-8 loss ${want.loss[7]}`);
    }
    const final = await logitsOf(path.join(dir, 'out', 'model.onnx'), path.join(fixture, 'model.onnx'), rows);
    assert.ok(final.data.every(Number.isFinite));
  });
}
