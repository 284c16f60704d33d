// `npm run bench:large`: a model whose weights are over 2 GB (one 2.16 GB matrix, kept as ONNX
// external data as exporters write such models) trained by `onnx-trainer train` for two steps
// with a checkpoint, then the checkpoint loaded by onnxruntime. Prints the resident memory of the
// load alone (must be about the weights once, not twice) and the training process's peak. No
// PyTorch needed; about 11 GB of disk in the temporary folder and 8 GB of memory (plain SGD: the
// weights, their gradient and onnxruntime-node's copy of the new weights).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph } from '../trainer/onnx/graph';
import { loadModel, saveModel } from '../trainer/onnx/model';
import { DataType, fromNumbers } from '../trainer/onnx/tensor';

const FEATURES = 4096;
const HIDDEN = 132_000;
const ROWS = 16;

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** features [N, 4096] → MatMul W1 [4096, 132000] → Relu → MatMul W2 [132000, 2] + b → logits. */
function buildModel(file: string): number {
  const g = new Graph();
  g.name = 'large_mlp';
  g.opset = 17;
  g.inputs = [{ name: 'features', type: DataType.FLOAT, shape: ['batch', FEATURES] }];
  g.outputs = [{ name: 'logits', type: DataType.FLOAT, shape: ['batch', 2] }];
  // Small seeded values (a 32-bit LCG): initialising 540M weights must take seconds, not minutes.
  let seed = 12345;
  const w1 = new Float32Array(FEATURES * HIDDEN);
  for (let i = 0; i < w1.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    w1[i] = (seed / 2 ** 32 - 0.5) * 0.02;
  }
  g.initializers.set('w1', { type: DataType.FLOAT, dims: [FEATURES, HIDDEN], data: w1 });
  g.initializers.set('w2', fromNumbers(DataType.FLOAT, [HIDDEN, 2], Array.from({ length: HIDDEN * 2 }, (_, i) => ((i % 7) - 3) * 1e-3)));
  g.initializers.set('b2', fromNumbers(DataType.FLOAT, [2], [0, 0]));
  const node = (op: string, inputs: string[], output: string) => g.nodes.push({ name: output, op, domain: '', inputs, outputs: [output], attrs: new Map() });
  node('MatMul', ['features', 'w1'], 'h');
  node('Relu', ['h'], 'r');
  node('MatMul', ['r', 'w2'], 'z');
  node('Add', ['z', 'b2'], 'logits');
  saveModel(file, g, undefined, { externalDataThreshold: 1024 });
  return w1.byteLength;
}

/** Runs a command, sampling its peak resident memory (VmHWM) until it exits. */
function runMeasured(args: string[], cwd: string): Promise<{ code: number; peak: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let peak = 0;
    const sample = setInterval(() => {
      try {
        peak = Math.max(peak, peakResident(child.pid!));
      } catch {
        // The process has just exited.
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(sample);
      resolve({ code: code ?? 1, peak, output });
    });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'trainer-large-'));
  try {
    const modelDir = path.join(dir, 'model');
    fs.mkdirSync(modelDir);
    const modelFile = path.join(modelDir, 'model.onnx');
    const weightBytes = buildModel(modelFile);
    console.log(`model: ${modelFile} (${gb(fs.statSync(modelFile).size)}) + model.onnx.data (${gb(fs.statSync(`${modelFile}.data`).size)}); largest tensor ${gb(weightBytes)}`);

    // The load alone, in a process of its own: its peak over its start is what loading costs.
    const load = await runMeasured([__filename, '--load', modelFile], dir);
    const { start, end } = JSON.parse(/\{.*\}/.exec(load.output)![0]) as { start: number; end: number };
    console.log(`load: peak resident memory grew by ${gb(end - start)} for ${gb(weightBytes)} of weights (${((end - start) / weightBytes).toFixed(2)}×)`);

    const lines = Array.from({ length: ROWS }, (_, r) => JSON.stringify({ features: Array.from({ length: FEATURES }, (_, i) => Math.sin(r * 31 + i) * 0.5), labels: r % 2 }));
    fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'trainer.yaml'), [
      'model:', '  path: model/model.onnx', '  num_labels: 2',
      'data:', '  train: train.jsonl',
      'training:', '  output_dir: out', '  max_steps: 2', '  per_device_train_batch_size: 8', '  optim: sgd',
      '  learning_rate: 0.01', '  save_steps: 2', '  logging_steps: 1', '  report_to: none', '',
    ].join('\n'));
    const cli = path.join(__dirname, '..', 'bin', 'onnx-trainer.js');
    const run = await runMeasured([cli, 'train', 'trainer.yaml'], dir);
    console.log(`train: exit ${run.code}, peak resident memory ${gb(run.peak)} (${(run.peak / weightBytes).toFixed(2)}× the weights)`);
    if (run.code !== 0) {
      console.log(run.output.split('\n').slice(-5).join('\n'));
      process.exitCode = 1;
      return;
    }
    const checkpoint = path.join(dir, 'out', 'checkpoint-2');
    console.log(`checkpoint-2: ${fs.readdirSync(checkpoint).map((f) => `${f} ${gb(fs.statSync(path.join(checkpoint, f)).size)}`).join(', ')}`);
    const session = await ort.InferenceSession.create(path.join(checkpoint, 'model.onnx'));
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from({ length: FEATURES }, (_, i) => Math.sin(i) * 0.5), [1, FEATURES]) });
    const logits = [...(out.logits.data as Float32Array)];
    console.log(`onnxruntime loads checkpoint-2's model: logits ${logits.map((v) => v.toFixed(4)).join(', ')}`);
    if (!logits.every(Number.isFinite)) process.exitCode = 1;
    await session.release();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A process's peak resident memory (VmHWM: unlike getrusage's maxrss, not inherited from the parent across fork and exec). */
function peakResident(pid: number | 'self' = 'self'): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** `--load FILE`: loads the model and prints the peak resident memory before and after, in bytes. */
function loadOnly(file: string) {
  const start = peakResident();
  const model = loadModel(file);
  console.log(JSON.stringify({ start, end: peakResident(), tensors: model.graph.initializers.size }));
}

(process.argv[2] === '--load' ? Promise.resolve(loadOnly(process.argv[3])) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
