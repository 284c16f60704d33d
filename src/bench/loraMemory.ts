// `npm run bench:lora`: peak resident memory of a train step on a BERT-shaped encoder, full
// fine-tuning against LoRA (r 8 on query and value, as peft's usual setup). Each variant runs in
// its own process (this file with --worker), so each peak RSS is that variant's alone. No
// PyTorch needed: the model is the built-in bert at the benchmark's BERT shape.

import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { buildBert } from '../trainer/models/bert';
import { Model } from '../trainer/onnx/model';
import { onnx } from '../trainer/onnx/generated/onnx';
import { DataType, Tensor, fromNumbers } from '../trainer/onnx/tensor';
import { TrainStepRunner, initialState } from '../trainer/programs/executor';
import { adapterTensorNames, insertAdapters } from '../trainer/programs/lora';
import { prepareModel } from '../trainer/programs/prepare';

interface Variant {
  layers: number;
  lora: boolean;
}

const SHAPE = { vocabSize: 8000, hiddenSize: 256, numHeads: 4, intermediateSize: 1024, maxPositions: 128, batch: 16, steps: 3 };

async function worker(v: Variant, threads: number) {
  const startRss = process.resourceUsage().maxRSS;
  const graph = buildBert({ ...SHAPE, numLayers: v.layers, padTokenId: 0, numLabels: 2, seed: 42, dropout: 0 });
  const base: Model = { path: 'bert', proto: { opsetImport: [{ domain: '', version: graph.opset }] } as unknown as onnx.ModelProto, graph };
  const lora = v.lora ? insertAdapters(base, { r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['query', 'value'], use_rslora: false }, 42) : undefined;
  const prepared = prepareModel(lora?.model ?? base, { trainOnly: lora && adapterTensorNames(lora) });
  const optimizer = { name: 'adamw_torch' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, momentum: 0, dampening: 0, nesterov: false };
  const runner = await TrainStepRunner.create(prepared, { problemType: 'single_label_classification', numLabels: 2 }, optimizer, false, { threads });
  const state = initialState(prepared, runner.slots, { moment: runner.moment, place: runner.place });
  const n = SHAPE.batch * SHAPE.maxPositions;
  const ids = (f: (i: number) => number) => fromNumbers(DataType.INT64, [SHAPE.batch, SHAPE.maxPositions], Array.from({ length: n }, (_, i) => f(i)));
  const batch = new Map<string, Tensor>([
    ['input_ids', ids((i) => 1 + ((i * 7919) % (SHAPE.vocabSize - 1)))],
    ['attention_mask', ids(() => 1)],
    ['token_type_ids', ids(() => 0)],
    ['labels', fromNumbers(DataType.INT64, [SHAPE.batch], Array.from({ length: SHAPE.batch }, (_, i) => i % 2))],
  ]);
  const t = performance.now();
  for (let step = 1; step <= SHAPE.steps; step++) await runner.microBatch(state, { batch, weight: 1, last: true, scalars: { lr: 1e-4, step, maxGradNorm: 1, randomKey: 0 } });
  const trainable = prepared.params.reduce((s, p) => s + p.dims.reduce((a, d) => a * d, 1), 0);
  process.stdout.write(JSON.stringify({ start: startRss, peak: process.resourceUsage().maxRSS, trainable, seconds: (performance.now() - t) / 1000 / SHAPE.steps }) + '\n');
  await runner.release();
}

function coordinator(threads: number) {
  console.log(`Peak RSS of ${SHAPE.steps} train steps (AdamW), BERT-shaped encoder (hidden ${SHAPE.hiddenSize}, ${SHAPE.numHeads} heads, ffn ${SHAPE.intermediateSize}, vocab ${SHAPE.vocabSize}), batch ${SHAPE.batch} × seq ${SHAPE.maxPositions}, ${threads} threads\n`);
  console.log('| layers | fine-tuning | trainable values | peak RSS | growth over start | s/step |');
  console.log('|---|---|---|---|---|---|');
  for (const layers of [2, 6]) {
    for (const lora of [false, true]) {
      const r = spawnSync(process.execPath, [__filename, '--worker', JSON.stringify({ layers, lora }), String(threads)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { start: number; peak: number; trainable: number; seconds: number };
      console.log(`| ${layers} | ${lora ? 'LoRA r 8 (query, value)' : 'full'} | ${m.trainable.toLocaleString('en-US')} | ${(m.peak / 1024).toFixed(0)} MB | +${((m.peak - m.start) / 1024).toFixed(0)} MB | ${m.seconds.toFixed(2)} |`);
    }
  }
}

const at = process.argv.indexOf('--worker');
if (at >= 0) {
  worker(JSON.parse(process.argv[at + 1]) as Variant, Number(process.argv[at + 2])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  coordinator(Number(process.env.BENCH_THREADS ?? os.cpus().length));
}
