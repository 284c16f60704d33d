// The engine as a library: new Trainer({ model, args, trainDataset, evalDataset, computeMetrics,
// callbacks }) with train(), evaluate() and predict(), from the bundle (dist/trainer.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, ROOT, tempDir } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(path.join(ROOT, 'dist', 'trainer.js')) as typeof import('../src/trainer/index');

test('a Trainer built in code trains, evaluates and predicts, calling back with Hugging Face\'s events', async () => {
  const model = lib.loadModel(path.join(FIXTURES, 'parity', 'mlp', 'model.onnx'));
  const source = await lib.openSource(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'));
  const dataset = lib.buildDataset(source, model.graph.inputs, { problemType: 'single_label_classification', numLabels: 3 }, true);
  const out = tempDir('library');
  const events: string[] = [];
  const trainer = new lib.Trainer({
    model,
    args: lib.trainingArguments({ output_dir: out, max_steps: 4, per_device_train_batch_size: 8, logging_steps: 2, eval_strategy: 'steps', eval_steps: 2, save_strategy: 'no', learning_rate: 0.01 }),
    trainDataset: dataset,
    evalDataset: dataset,
    computeMetrics: (p) => ({ rows: p.n }),
    callbacks: [{ on_log: (_a, state) => void events.push(`log@${state.global_step}`), on_evaluate: () => void events.push('evaluate') }],
  });
  const result = await trainer.train();
  assert.equal(result.global_step, 4);
  assert.ok(result.training_loss > 0);
  assert.deepEqual(events, ['log@2', 'log@2', 'evaluate', 'log@4', 'log@4', 'evaluate', 'log@4']);
  const metrics = await trainer.evaluate();
  assert.equal(metrics.eval_rows, 24);
  const { predictions } = await trainer.predict(dataset);
  assert.equal(predictions.n, 24);
  assert.equal(predictions.width, 3);
  await trainer.release();
});

test('bad TrainingArguments in code throw an error naming the key', () => {
  assert.throws(() => lib.trainingArguments({ learning_rat: 1 }), /learning_rat: unknown key; did you mean "learning_rate"\?/);
});

test('a Trainer given LoRA adapters trains them alone and saves them in peft\'s files', async () => {
  const dir = path.join(FIXTURES, 'tasks', 'bert_cls_lora_ts');
  const base = lib.loadModel(path.join(dir, 'model.onnx'));
  const lora = lib.insertAdapters(base, { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['query', 'value'], use_rslora: false }, 42);
  const source = await lib.openSource(path.join(dir, 'train.jsonl'));
  const dataset = lib.buildDataset(source, base.graph.inputs, { problemType: 'single_label_classification', numLabels: 2 }, true);
  const out = tempDir('library-lora');
  const trainer = new lib.Trainer({
    model: base, lora, labels: { problemType: 'single_label_classification', numLabels: 2 },
    args: lib.trainingArguments({ output_dir: out, max_steps: 2, save_strategy: 'no' }), trainDataset: dataset,
  });
  assert.deepEqual(trainer.prepared.params.map((p) => p.name).sort(), lib.adapterTensorNames(lora).sort());
  await trainer.train();
  trainer.saveModel(out);
  assert.deepEqual([...lib.readAdapterWeights(path.join(out, 'adapter_model.safetensors')).keys()].sort(), lib.adapterTensorNames(lora).sort());
  await trainer.release();
});

// Hugging Face's evaluate() computes a causal LM's loss alone without compute_metrics; so does
// this one (no logits), and the loss is Hugging Face Trainer's own: evaluated on the training rows
// as one batch, before any step, it is the loss Trainer logged at step 1.
test('a causal LM evaluates for its loss alone, the loss Hugging Face Trainer logged for the same rows', async () => {
  const dir = path.join(FIXTURES, 'tasks', 'gpt2_clm_ts');
  const model = lib.loadModel(path.join(dir, 'model.onnx'));
  const labels = { task: 'text-generation' as const, problemType: 'single_label_classification' as const, numLabels: 2 };
  const dataset = lib.buildDataset(await lib.openSource(path.join(dir, 'train.jsonl')), model.graph.inputs, labels, true);
  const trainer = new lib.Trainer({
    model, labels, args: lib.trainingArguments({ output_dir: tempDir('library-clm'), per_device_eval_batch_size: 16, save_strategy: 'no' }), evalDataset: dataset,
  });
  const alone = await trainer.evaluateWithPredictions(dataset, 'eval', false);
  const withLogits = await trainer.evaluateWithPredictions(dataset, 'eval', true);
  await trainer.release();
  assert.equal(alone.prediction.width, 0);
  assert.ok(withLogits.prediction.width > 0);
  const first = (JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { loss: number[] }).loss[0];
  assert.ok(Math.abs(alone.metrics.eval_loss - first) <= 2e-3 * first, `eval_loss ${alone.metrics.eval_loss} vs Trainer's ${first}`);
  assert.ok(Math.abs(alone.metrics.eval_loss - withLogits.metrics.eval_loss) <= 1e-6 * first);
  assert.equal(alone.metrics.eval_perplexity, Math.exp(alone.metrics.eval_loss));
});

// Token classification's and fill-mask's built-in metrics read each labelled position's predicted
// class: evaluate() computes those alone (0 elsewhere) and reports what the whole logits give.
for (const [name, task, numLabels] of [['bert_tokcls_ts', 'token-classification', 5], ['bert_mlm_ts', 'fill-mask', 2]] as const) {
  test(`${name}: evaluate() predicts the labelled positions alone, with the metrics of the whole logits`, async () => {
    const dir = path.join(FIXTURES, 'tasks', name);
    const model = lib.loadModel(path.join(dir, 'model.onnx'));
    const labels = { task, problemType: 'single_label_classification' as const, numLabels };
    const dataset = lib.buildDataset(await lib.openSource(path.join(dir, 'train.jsonl')), model.graph.inputs, labels, true);
    const trainer = new lib.Trainer({ model, labels, args: lib.trainingArguments({ output_dir: tempDir(`library-${name}`), per_device_eval_batch_size: 8, save_strategy: 'no' }), evalDataset: dataset });
    const lean = await trainer.evaluateWithPredictions(dataset, 'eval', false);
    const whole = await trainer.evaluateWithPredictions(dataset, 'eval', true);
    await trainer.release();
    const measured = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => !/runtime|per_second|epoch/.test(k)));
    const [a, b] = [measured(lean.metrics), measured(whole.metrics)];
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    for (const k of Object.keys(b)) assert.ok(Math.abs(a[k] - b[k]) <= 1e-6 * Math.max(1, Math.abs(b[k])), `${k}: ${a[k]} vs ${b[k]}`);
    // Unlabelled positions: nothing predicted in the lean step (0), the logits' argmax in the whole one.
    const unlabelled = (p: typeof lean.prediction) => Array.from(p.predictions).filter((_, i) => p.labelIds[i] === -100);
    assert.ok(unlabelled(lean.prediction).every((v) => v === 0));
    assert.ok(unlabelled(whole.prediction).some((v) => v !== 0));
  });
}
