// One compile per run: the train step the job compiles (to refuse a model without gradient rules
// before anything is written) is the one train() loads, for every variant of the step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigDocument } from '../../src/trainer/config/document';
import { parseConfig } from '../../src/trainer/config/config';
import { prepareJob } from '../../src/trainer/job';
import { tempDir, writeConfig } from '../helpers';

for (const [name, training, modes] of [
  ['one step', {}, ['step']],
  ['gradient accumulation', { gradient_accumulation_steps: 2 }, ['accumulate', 'final']],
] as [string, Record<string, unknown>, string[]][]) {
  test(`the job's compiled train step is the one train() runs (${name})`, async () => {
    const dir = tempDir('compile-once');
    fs.writeFileSync(path.join(dir, 'train.jsonl'), Array.from({ length: 16 }, (_, i) => JSON.stringify({ features: [Math.cos(i), Math.sin(i)], labels: i % 2 })).join('\n') + '\n');
    const file = writeConfig(dir, {
      model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
      data: { train: 'train.jsonl' },
      training: { output_dir: 'out', max_steps: 2, per_device_train_batch_size: 4, save_strategy: 'no', report_to: 'none', ...training },
    });
    const phases: string[] = [];
    const job = await prepareJob(parseConfig(ConfigDocument.load(file)), 'train', {}, (phase) => phases.push(phase));
    assert.deepEqual(phases.filter((p) => p === 'compiling'), ['compiling']);
    const compiled = job.trainer.compileTrainStep();
    assert.deepEqual([...compiled.keys()], modes);
    const graphs = [...compiled.values()].map((c) => c.graph);
    const out = await job.trainer.train();
    assert.equal(out.global_step, 2);
    assert.strictEqual(job.trainer.compileTrainStep(), compiled, 'train() used the programs the job compiled');
    assert.deepEqual([...compiled.values()].map((c) => c.graph), graphs, 'and compiled nothing in their place');
    await job.trainer.release();
  });
}
