// LoRA runs through the command line: checkpoints hold peft's adapter files, a resumed run
// continues where it stopped, `export` merges the adapters into the base weights or writes the
// adapter files alone, and a wrong adapter setting is one clear line with exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES, copyFixture, readJson, runCli, tempDir } from '../helpers';
import { readSafetensors } from '../../src/trainer/onnx/safetensors';
import { toNumbers } from '../../src/trainer/onnx/tensor';

const FIXTURE = path.join(FIXTURES, 'tasks', 'bert_cls_lora_ts');
const TARGETS = Object.keys(readJson(path.join(FIXTURE, 'export.json')).lora_targets as object);

/** A copy of the fixture whose trainer.json is changed by `edit`. */
function setup(name: string, edit: (config: { model: Record<string, unknown>; training: Record<string, unknown> }) => void = () => {}): string {
  const dir = tempDir(`lora-${name}`);
  copyFixture(FIXTURE, dir);
  const file = path.join(dir, 'trainer.json');
  const config = readJson(file) as { model: Record<string, unknown>; training: Record<string, unknown> };
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config));
  return dir;
}

function checkpointing(config: { training: Record<string, unknown> }) {
  config.training.save_strategy = 'steps';
  config.training.save_steps = 4;
}

function train(dir: string, ...extra: string[]) {
  const r = runCli(['train', path.join(dir, 'trainer.json'), ...extra]);
  assert.equal(r.code, 0, r.stderr);
}

/** The safetensors header as written: dtype and shape by tensor name. */
function header(file: string): Record<string, { dtype: string; shape: number[] }> {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const h = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  delete h.__metadata__;
  return h;
}

function peftHeader(): Record<string, { dtype: string; shape: number[] }> {
  return Object.fromEntries(TARGETS.flatMap((m) => [
    [`base_model.model.${m}.lora_A.weight`, { dtype: 'F32', shape: [4, 32] }],
    [`base_model.model.${m}.lora_B.weight`, { dtype: 'F32', shape: [32, 4] }],
  ]));
}

test('checkpoints hold the adapter in peft\'s files, tensor names, dtypes and shapes', () => {
  const dir = setup('checkpoint', checkpointing);
  train(dir);
  for (const step of [4, 8]) {
    const ckpt = path.join(dir, 'out', `checkpoint-${step}`);
    const h = header(path.join(ckpt, 'adapter_model.safetensors'));
    assert.deepEqual(Object.fromEntries(Object.entries(h).map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape }])), peftHeader());
    const written = readJson(path.join(ckpt, 'adapter_config.json'));
    const peft = readJson(path.join(FIXTURE, 'adapter_config.json'));
    assert.deepEqual(Object.keys(written).sort(), Object.keys(peft).sort());
    for (const k of ['r', 'lora_alpha', 'lora_dropout', 'target_modules', 'peft_type', 'bias', 'use_rslora', 'task_type']) assert.deepEqual(written[k], peft[k], k);
  }
});

test('training moves the adapter, and the saved trained tensors are the adapters alone', () => {
  const dir = setup('moves', checkpointing);
  train(dir);
  const start = readSafetensors(path.join(FIXTURE, 'adapter_model.safetensors')).tensors;
  const end = readSafetensors(path.join(dir, 'out', 'adapter_model.safetensors')).tensors;
  for (const [name, t] of start) assert.notDeepEqual(toNumbers(end.get(name)!), toNumbers(t), name);
  // model.safetensors holds the trained tensors only: the adapters, not the frozen base.
  assert.deepEqual([...readSafetensors(path.join(dir, 'out', 'model.safetensors')).tensors.keys()].sort(), Object.keys(peftHeader()).sort());
});

test('optimizer state exists for the adapters only', () => {
  const dir = setup('optimizer', checkpointing);
  train(dir);
  const names = Object.keys(header(path.join(dir, 'out', 'checkpoint-4', 'optimizer.safetensors')));
  assert.deepEqual(names.sort(), Object.keys(peftHeader()).flatMap((n) => [`${n}.exp_avg`, `${n}.exp_avg_sq`]).sort());
});

test('a run resumed from a checkpoint logs what the uninterrupted run logged', () => {
  const whole = setup('whole', checkpointing);
  train(whole);
  const resumed = setup('resumed', checkpointing);
  fs.cpSync(path.join(whole, 'out', 'checkpoint-4'), path.join(resumed, 'out', 'checkpoint-4'), { recursive: true });
  train(resumed, '--resume');
  const losses = (dir: string) => (readJson(path.join(dir, 'out', 'trainer_state.json')).log_history as Record<string, number>[])
    .filter((e) => 'loss' in e).map((e) => [e.step, e.loss, e.grad_norm]);
  assert.deepEqual(losses(resumed), losses(whole));
  assert.deepEqual(readSafetensors(path.join(resumed, 'out', 'adapter_model.safetensors')).tensors, readSafetensors(path.join(whole, 'out', 'adapter_model.safetensors')).tensors);
});

async function logitsOf(model: string, rows: Record<string, number[]>[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) feeds[name] = new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((r) => r[name]).map(BigInt)), [rows.length, rows[0][name].length]);
  const out = await session.run(feeds);
  return out[session.outputNames[0]].data as Float32Array;
}

test('export merges the trained adapters into the base weights: same logits, no adapter nodes', async () => {
  const dir = setup('merged');
  train(dir);
  const r = runCli(['export', path.join(dir, 'trainer.json'), '--output', path.join(dir, 'merged')]);
  assert.equal(r.code, 0, r.stderr);
  const rows = fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const adapted = await logitsOf(path.join(dir, 'out', 'model.onnx'), rows);
  const merged = await logitsOf(path.join(dir, 'merged', 'model.onnx'), rows);
  const base = await logitsOf(path.join(dir, 'model.onnx'), rows);
  assert.ok(adapted.some((v, i) => Math.abs(v - base[i]) > 1e-3), 'the adapters change the logits');
  adapted.forEach((v, i) => assert.ok(Math.abs(v - merged[i]) < 1e-5, `logit ${i}: adapted ${v}, merged ${merged[i]}`));
  const weights = readSafetensors(path.join(dir, 'merged', 'model.safetensors')).tensors;
  assert.deepEqual([...weights.keys()].sort(), (Object.values(readJson(path.join(FIXTURE, 'export.json')).lora_targets as object) as { weight_initializer: string }[]).map((t) => t.weight_initializer).sort());
  assert.ok(!fs.readFileSync(path.join(dir, 'merged', 'model.onnx')).includes('lora'));
});

test('export --adapter-only writes the checkpoint\'s adapter as peft\'s two files', () => {
  const dir = setup('adapter-only', checkpointing);
  train(dir);
  const out = path.join(dir, 'adapter');
  const r = runCli(['export', path.join(dir, 'trainer.json'), '--checkpoint', path.join(dir, 'out', 'checkpoint-4'), '--output', out, '--adapter-only']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
  assert.deepEqual(readSafetensors(path.join(out, 'adapter_model.safetensors')).tensors, readSafetensors(path.join(dir, 'out', 'checkpoint-4', 'adapter_model.safetensors')).tensors);
});

test('an init adapter of another rank is refused in one line naming the file and tensor', () => {
  const dir = setup('rank', (c) => {
    (c.model.lora as Record<string, unknown>).r = 8;
  });
  const r = runCli(['train', path.join(dir, 'trainer.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /adapter_model\.safetensors: tensor "base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight" has shape \[4,32\], expected \[8,32\]/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('target_modules that match no linear layer are refused, listing the modules there are', () => {
  const dir = setup('targets', (c) => {
    (c.model.lora as Record<string, unknown>).target_modules = ['q_proj'];
    delete (c.model.lora as Record<string, unknown>).init;
  });
  const r = runCli(['train', path.join(dir, 'trainer.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /target_modules \["q_proj"\] matches no linear layer of .*model\.onnx \(its linear modules: bert\.encoder\.layer\.0\.attention\.self\.query/);
});

test('lora_dropout drops adapter inputs with the run\'s seeded masks', () => {
  const losses = (dropout: number, seed: number) => {
    const dir = setup(`dropout-${dropout}-${seed}`, (c) => {
      (c.model.lora as Record<string, unknown>).lora_dropout = dropout;
      c.training.seed = seed;
    });
    train(dir);
    return (readJson(path.join(dir, 'out', 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e).map((e) => e.loss);
  };
  const plain = losses(0, 42);
  const dropped = losses(0.5, 42);
  assert.notEqual(dropped[0], plain[0]);
  assert.deepEqual(losses(0.5, 42), dropped);
  assert.notDeepEqual(losses(0.5, 1), dropped);
});

test('check with a LoRA config lists the adapters as the only trainable parameters', () => {
  const r = runCli(['check', path.join(FIXTURE, 'trainer.json')]);
  assert.equal(r.code, 0, r.stderr);
  const params = readJson(path.join(FIXTURE, 'params.json')) as { trainable_parameters: number; tensors: number };
  assert.match(r.stdout, new RegExp(`trainable parameters: ${params.tensors} tensors, ${params.trainable_parameters.toLocaleString('en-US')} values`));
  for (const name of Object.keys(peftHeader())) assert.match(r.stdout, new RegExp(`^  ${name.replace(/\./g, '\\.')} `, 'm'));
});

test('evaluate with a checkpoint uses its adapters: the loss the next training step logged', () => {
  const dir = setup('evaluate', (c) => {
    checkpointing(c);
    (c as unknown as { data: Record<string, string> }).data.eval = 'train.jsonl';
  });
  train(dir);
  const r = runCli(['evaluate', path.join(dir, 'trainer.json'), '--checkpoint', path.join(dir, 'out', 'checkpoint-4')]);
  assert.equal(r.code, 0, r.stderr);
  const evalLoss = (JSON.parse(r.stdout) as Record<string, number>).eval_loss;
  const step5 = (readJson(path.join(dir, 'out', 'trainer_state.json')).log_history as Record<string, number>[]).find((e) => e.step === 5 && 'loss' in e)!;
  assert.ok(Math.abs(evalLoss - step5.loss) < 1e-5, `eval_loss ${evalLoss}, step 5 loss ${step5.loss}`);
});

test('a LoRA option outside what Trainer implements is refused naming the key', () => {
  const dir = setup('bias', (c) => {
    (c.model.lora as Record<string, unknown>).bias = 'all';
  });
  const r = runCli(['train', path.join(dir, 'trainer.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /trainer\.json:\d+: model\.lora\.bias: expected one of none, got "all"/);
});

test('LoRA trains a dynamo export, its target modules found by their scope metadata', () => {
  const fixture = path.join(FIXTURES, 'tasks', 'bert_qa_dynamo');
  const dir = tempDir('lora-dynamo');
  fs.copyFileSync(path.join(fixture, 'model.onnx'), path.join(dir, 'model.onnx'));
  // The start logits read as a 16-way classification: enough to train through the adapters.
  const rows = fs.readFileSync(path.join(fixture, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), rows.map((r, i) => JSON.stringify({ input_ids: r.input_ids, attention_mask: r.attention_mask, token_type_ids: r.token_type_ids, labels: i % 16 })).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'trainer.json'), JSON.stringify({
    model: { path: 'model.onnx', output: 'start_logits', num_labels: 16, lora: { r: 4, lora_alpha: 8, target_modules: ['query', 'value'] } },
    data: { train: 'train.jsonl' },
    training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 16, learning_rate: 0.01, save_strategy: 'no', report_to: 'none' },
  }));
  const r = runCli(['train', path.join(dir, 'trainer.json')]);
  assert.equal(r.code, 0, r.stderr);
  const base = (readJson(path.join(fixture, 'params.json')) as { trainable_parameters: number }).trainable_parameters;
  assert.match(r.stderr, new RegExp(`trainable params: 1,024 \\|\\| all params: ${(base + 1024).toLocaleString('en-US')} \\|\\|`));
  const adapter = readSafetensors(path.join(dir, 'out', 'adapter_model.safetensors')).tensors;
  assert.deepEqual([...adapter.keys()].sort(), Object.keys(peftHeader()).sort());
  for (const [name, t] of adapter) if (name.endsWith('lora_B.weight')) assert.ok(toNumbers(t).some((v) => v !== 0), `${name} left zero`);
});
