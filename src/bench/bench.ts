// `npm run bench`: train-step throughput and peak memory of Trainer's compiled train step, side
// by side with PyTorch on the same model, batch and thread count, measured interleaved in one
// run. PyTorch builds each model and exports it to ONNX; Trainer compiles that very file. Each
// side runs in its own process (scripts/bench/torch_peer.py, and this file with --worker), so
// each peak RSS is that side's alone.

import { ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { MALLOC_SETTINGS, allocatorEnv } from '../allocator';
import { loadModel } from '../trainer/onnx/model';
import { DataType, Tensor, fromNumbers } from '../trainer/onnx/tensor';
import { TrainStepRunner, initialState } from '../trainer/programs/executor';
import { prepareModel } from '../trainer/programs/prepare';
import type { Task } from '../trainer/programs/tasks';

interface Setup {
  /** Selects the row with BENCH_ONLY=key,key. */
  key: string;
  name: string;
  model: 'mlp' | 'bert' | 'distilbert-base' | 'bert-base' | 'bert-large' | 'gpt2' | 'modernbert-base' | 'deberta-v3-base' | 'qwen2-0.5b' | 'resnet18';
  batch: number;
  steps: number;
  labels: number;
  [key: string]: unknown;
}

const SMALL_BERT = { model: 'bert' as const, vocab: 8000, hidden: 256, heads: 4, intermediate: 1024, seq: 128, labels: 2 };

const SETUPS: Setup[] = [
  { key: 'mlp', name: 'MLP 784-1024-1024-10', model: 'mlp', batch: 256, steps: 20, sizes: [784, 1024, 1024, 10], labels: 10 },
  { key: 'bert-2', name: 'BERT-shaped encoder (2 layers, hidden 256, 4 heads, ffn 1024, seq 128)', batch: 16, steps: 4, layers: 2, ...SMALL_BERT },
  // The same encoder deeper, with Trainer's gradient checkpointing on (PyTorch keeps activations).
  { key: 'bert-6-recompute', name: 'BERT-shaped encoder, 6 layers, Trainer with gradient_checkpointing', batch: 16, steps: 2, layers: 6, recompute: true, ...SMALL_BERT },
  { key: 'bert-6', name: 'BERT-shaped encoder, 6 layers', batch: 16, steps: 2, layers: 6, ...SMALL_BERT },
  // Real sizes: transformers' own classes (randomly initialised, dropout off) exported by PyTorch.
  { key: 'distilbert-base', name: 'DistilBERT-base (6 layers, hidden 768, 12 heads, ffn 3072, seq 128)', model: 'distilbert-base', batch: 16, steps: 2, seq: 128, labels: 2 },
  { key: 'distilbert-base-recompute', name: 'DistilBERT-base, Trainer with gradient_checkpointing', model: 'distilbert-base', batch: 16, steps: 2, seq: 128, labels: 2, recompute: true },
  // Both sides checkpointing: Trainer's gradient_checkpointing against Hugging Face's
  // gradient_checkpointing_enable() (needs transformers on the PyTorch side).
  { key: 'distilbert-base-both-recompute', name: 'DistilBERT-base, both with gradient checkpointing', model: 'distilbert-base', batch: 16, steps: 2, seq: 128, labels: 2, recompute: true, torch_recompute: true },
  { key: 'bert-base', name: 'BERT-base (12 layers, hidden 768, 12 heads, ffn 3072, seq 128)', model: 'bert-base', batch: 16, steps: 1, seq: 128, labels: 2 },
  { key: 'bert-large', name: 'BERT-large (24 layers, hidden 1024, 16 heads, ffn 4096, seq 128)', model: 'bert-large', batch: 16, steps: 1, seq: 128, labels: 2 },
  // A masked LM: 15% of the real tokens labelled, the rest -100 (Hugging Face's collator's share);
  // its decoder tied to the word embeddings, as Hugging Face builds it (Trainer: tie_identical).
  { key: 'bert-base-mlm', name: 'BERT-base masked LM (fill-mask, 15% of tokens labelled)', model: 'bert-base', task: 'fill-mask', batch: 16, steps: 1, seq: 128, labels: 2, tied: true },
  // A causal LM on padded sequences: every real token a target, padding labelled -100; the LM head
  // tied to the token embeddings (Trainer: tie_identical).
  { key: 'gpt2-clm', name: 'GPT-2 small causal LM (12 layers, hidden 768, vocab 50257, seq 128)', model: 'gpt2', task: 'text-generation', batch: 16, steps: 1, seq: 128, labels: 2, tied: true },
  // A decoder classifier on padded sequences: the head reads each sequence's last real token.
  { key: 'gpt2-cls', name: 'GPT-2 small sequence classifier (12 layers, hidden 768, seq 128)', model: 'gpt2', batch: 16, steps: 1, seq: 128, labels: 2 },
  // A current encoder: one q/k/v product split per head, RoPE, alternating global and local attention.
  { key: 'modernbert-base', name: 'ModernBERT-base (22 layers, hidden 768, 12 heads, ffn 1152, seq 128)', model: 'modernbert-base', batch: 16, steps: 1, seq: 128, labels: 2 },
  // Disentangled attention: relative-position terms of q and k added to the scores, a masked fill.
  { key: 'deberta-v3-base', name: 'DeBERTa-v3-base (12 layers, hidden 768, 12 heads, ffn 3072, 256 position buckets, seq 128)', model: 'deberta-v3-base', batch: 16, steps: 1, seq: 128, labels: 2 },
  // A 0.5B decoder, the size where the optimizer's state decides what fits: Qwen2.5-0.5B's config,
  // its LM head tied to the token embedding as Hugging Face builds it (Trainer: tie_identical).
  { key: 'qwen2-0.5b-clm', name: 'Qwen2.5-0.5B causal LM (24 layers, hidden 896, 14 heads, 2 key-value heads, vocab 151936, tied head, seq 128)', model: 'qwen2-0.5b', task: 'text-generation', batch: 4, steps: 1, seq: 128, labels: 2, tied: true },
  { key: 'resnet18-64', name: 'ResNet-18, training-mode BatchNorm, 64×64 images', model: 'resnet18', batch: 32, steps: 3, image: 64, labels: 10 },
  { key: 'resnet18-224', name: 'ResNet-18, training-mode BatchNorm, 224×224 images', model: 'resnet18', batch: 32, steps: 1, image: 224, labels: 10 },
];

/**
 * `npm run bench -- --scaling`: the BERT-base shape over sequence length and batch size. Batches
 * of more than 8192 tokens are left out: PyTorch alone needs over 20 GB for 32 × 512.
 */
function scalingSetups(): Setup[] {
  const rows: Setup[] = [];
  for (const seq of [128, 256, 512]) {
    for (const batch of [8, 16, 32]) {
      if (seq * batch > 8192) continue;
      rows.push({ key: `bert-base-${batch}x${seq}`, name: `BERT-base, sequence ${seq}`, model: 'bert-base', batch, steps: 1, seq, labels: 2 });
    }
  }
  return rows;
}

/** stdin for requests, stdout and stderr for whatever the peer prints, fd 3 for answers. */
const PROTOCOL_STDIO: ('pipe')[] = ['pipe', 'pipe', 'pipe', 'pipe'];

class PeerExit extends Error {}

class Peer {
  private lines: AsyncIterator<string>;
  /** The last line the process wrote to stderr: why it exited, when it did. */
  private lastError = '';

  /**
   * The protocol runs over file descriptor 3, not stdout: PyTorch 2.x's exporters print to
   * stdout, and anything a library prints must not break the JSON lines.
   */
  constructor(readonly proc: ChildProcess, readonly label: string) {
    for (const s of [proc.stdout, proc.stderr]) s?.on('data', (d) => process.stderr.write(`[${label}] ${d}`));
    proc.stderr?.on('data', (d) => {
      const lines = String(d).trim().split('\n');
      if (lines.at(-1)) this.lastError = lines.at(-1)!;
    });
    this.lines = readline.createInterface({ input: proc.stdio[3] as Readable })[Symbol.asyncIterator]();
  }
  async ask(msg: unknown): Promise<Record<string, number>> {
    this.proc.stdin!.write(JSON.stringify(msg) + '\n');
    const { value, done } = await this.lines.next();
    if (done) throw new PeerExit(`${this.label} exited${this.lastError ? `: ${this.lastError}` : ''}`);
    return JSON.parse(value);
  }
  close() {
    this.proc.stdin!.end();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function compare(setup: Setup, threads: number, rounds: number, python: string, env: NodeJS.ProcessEnv) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-bench-'));
  const onnx = path.join(dir, `${setup.model}.onnx`);
  const torchEnv = { ...env, OPENBLAS_NUM_THREADS: String(threads) };
  const torch = new Peer(spawn(python, [path.join(__dirname, '..', 'scripts', 'bench', 'torch_peer.py')], { env: torchEnv, stdio: PROTOCOL_STDIO }), 'pytorch');
  let torchReady: Record<string, number>;
  try {
    torchReady = await torch.ask({ ...setup, onnx, threads });
  } catch (e) {
    // A row the PyTorch side cannot build (transformers missing for the Hugging Face rows) is
    // reported in the table as skipped, with the peer's reason; the other rows still run.
    fs.rmSync(dir, { recursive: true, force: true });
    if (e instanceof PeerExit) return { skipped: e.message };
    throw e;
  }
  console.error(`[bench] ${setup.key}: PyTorch ${torchReady.torch} with ${torchReady.torch_threads} intra-op thread(s), ${torchReady.memory_format} tensors`);
  const ours = new Peer(spawn(process.execPath, [__filename, '--worker'], { env, stdio: PROTOCOL_STDIO }), 'trainer');
  const oursReady = await ours.ask({ ...setup, onnx, threads });
  const rows: { ours: number[]; torch: number[]; oursRss: number; torchRss: number } = { ours: [], torch: [], oursRss: oursReady.max_rss_kb, torchRss: torchReady.max_rss_kb ?? 0 };
  for (let r = 0; r <= rounds; r++) {
    // Round 0 warms both up and is not counted; then the two sides alternate.
    const a = await ours.ask({ steps: setup.steps });
    const b = await torch.ask({ steps: setup.steps });
    if (r === 0) continue;
    rows.ours.push((setup.steps * setup.batch) / a.seconds);
    rows.torch.push((setup.steps * setup.batch) / b.seconds);
    rows.oursRss = Math.max(rows.oursRss, a.max_rss_kb);
    rows.torchRss = Math.max(rows.torchRss, b.max_rss_kb);
  }
  ours.close();
  torch.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    ...rows, firstLoss: { ours: oursReady.loss, torch: torchReady.loss }, params: torchReady.params,
    start: { ours: oursReady.start_rss_kb, torch: torchReady.start_rss_kb },
    firstStep: { ours: oursReady.first_step_seconds, torch: torchReady.first_step_seconds },
  };
}

async function coordinator() {
  const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const threads = Number(process.env.BENCH_THREADS ?? os.cpus().length);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const only = process.env.BENCH_ONLY?.split(',');
  const setups = (process.argv.includes('--scaling') ? scalingSetups() : SETUPS).filter((s) => !only || only.includes(s.key));
  console.log(`Trainer vs PyTorch, train step (forward + cross-entropy + backward + clip 1.0 + AdamW), ${threads} threads, ${rounds} interleaved rounds after a warm-up, median\n`);
  // Both sides run with the malloc settings Trainer gives its training processes (src/allocator.ts):
  // the same allocator for both, and PyTorch at its best (it reuses its gradients' memory too).
  const env = { ...process.env, ...allocatorEnv(process.env) };
  const malloc = MALLOC_SETTINGS.map((s) => `${s.name}=${env[s.name]}`).join(' ');
  if (process.platform === 'linux') console.log(`Both sides run with glibc's ${malloc} (src/allocator.ts).\n`);
  console.log('Peak RSS is each process\'s maximum resident memory; in brackets, its growth over the process at start (runtime loaded, no model).');
  console.log('First step: seconds from loading the model to the end of the first train step (Trainer: load, compile, session, step; PyTorch: build, step; export excluded).\n');
  console.log('| model | batch | Trainer samples/s | PyTorch samples/s | Trainer / PyTorch | Trainer peak RSS | PyTorch peak RSS | RSS Trainer / PyTorch | first step s (Trainer / PyTorch) | first-step loss (Trainer / PyTorch) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const skipped: string[] = [];
  for (const s of setups) {
    const r = await compare(s, threads, rounds, python, env);
    if ('skipped' in r) {
      skipped.push(s.key);
      console.log(`| ${s.name} | ${s.batch} | skipped: ${r.skipped} | | | | | | | |`);
      continue;
    }
    const ours = median(r.ours);
    const torch = median(r.torch);
    const mb = (kb: number, start: number) => `${(kb / 1024).toFixed(0)} MB (+${((kb - start) / 1024).toFixed(0)})`;
    const params = `${(r.params / 1e6).toFixed(2)}M params`;
    console.log(`| ${s.name} (${params}) | ${s.batch} | ${ours.toFixed(1)} | ${torch.toFixed(1)} | ${(ours / torch).toFixed(2)}× | ${mb(r.oursRss, r.start.ours)} | ${mb(r.torchRss, r.start.torch)} | ${(r.oursRss / r.torchRss).toFixed(2)} | ${r.firstStep.ours.toFixed(1)} / ${r.firstStep.torch.toFixed(1)} | ${r.firstLoss.ours.toFixed(5)} / ${r.firstLoss.torch.toFixed(5)} |`);
  }
  if (skipped.length) console.log(`\n${skipped.length} row(s) skipped: ${skipped.join(', ')} (see the table).`);
}

/** A worker's answer on the protocol descriptor (fd 3). */
function answer(value: unknown): void {
  fs.writeSync(3, JSON.stringify(value) + '\n');
}

function batchFromPeer(file: string): Map<string, Tensor> {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { inputs: Record<string, { dtype: string; shape: number[]; data: number[] }>; labels: number[]; labels_shape?: number[] };
  const batch = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(spec.inputs)) batch.set(name, fromNumbers(t.dtype === 'int64' ? DataType.INT64 : DataType.FLOAT, t.shape, t.data));
  batch.set('labels', fromNumbers(DataType.INT64, spec.labels_shape ?? [spec.labels.length], spec.labels));
  return batch;
}

async function worker() {
  const startRss = process.resourceUsage().maxRSS;
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  const setup = JSON.parse(first.value) as Setup & { onnx: string; threads: number };
  const started = performance.now();
  const task = setup.task as Task | undefined;
  // A tied head (the exporters write it as a transposed copy of the embedding) trains as one tensor, as PyTorch's does.
  const prepared = prepareModel(loadModel(setup.onnx), { ...(task ? { task } : {}), tieIdentical: setup.tied === true });
  if (setup.tied && !prepared.ties.length) throw new Error(`${setup.key}: the export has no copy of a weight to tie (PyTorch's model ties its head)`);
  const optimizer = { name: 'adamw_torch' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };
  // BENCH_SELECTED=0 computes every row (the selections of selectedRows.ts, selectedTokens.ts and paddingRows.ts off), for comparison.
  const runner = await TrainStepRunner.create(prepared, { task, problemType: 'single_label_classification', numLabels: setup.labels }, optimizer, false, {
    threads: setup.threads, recompute: setup.recompute === true, inPlace: process.env.BENCH_IN_PLACE !== '0', selectedRowsOnly: process.env.BENCH_SELECTED !== '0',
  });
  const state = initialState(prepared, runner.slots, { adopt: true, moment: runner.moment, place: runner.place });
  const batch = batchFromPeer(`${setup.onnx}.batch.json`);
  let step = 1;
  const run = () => runner.microBatch(state, { batch, weight: 1, last: true, scalars: { lr: 1e-4, step: step++, maxGradNorm: 1, randomKey: 0 } });
  const firstLoss = (await run()).loss;
  answer({ ready: true, loss: firstLoss, start_rss_kb: startRss, max_rss_kb: process.resourceUsage().maxRSS, first_step_seconds: (performance.now() - started) / 1000 });
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    const { steps } = JSON.parse(next.value);
    const t = performance.now();
    let loss = 0;
    for (let k = 0; k < steps; k++) loss = (await run()).loss;
    answer({ seconds: (performance.now() - t) / 1000, loss, max_rss_kb: process.resourceUsage().maxRSS });
  }
  await runner.release();
}

(process.argv.includes('--worker') ? worker() : coordinator()).catch((e) => {
  console.error(e);
  process.exit(1);
});
