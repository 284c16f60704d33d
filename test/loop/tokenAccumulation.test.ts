// Gradient accumulation with token-level losses, as Hugging Face Trainer 5.x does it: the window's
// loss is the mean over all its target tokens (num_items_in_batch), so two micro-batches of 8 rows
// train exactly like one batch of 16, even when the rows hold different numbers of targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, copyFixture, readJson, runCli, tempDir } from '../helpers';

function train(fixture: string, batch: number, ga: number): { loss: number; grad_norm: number }[] {
  const dir = tempDir(`token-ga-${ga}`);
  copyFixture(fixture, dir);
  const config = readJson(path.join(dir, 'trainer.json')) as { training: Record<string, unknown> };
  Object.assign(config.training, { per_device_train_batch_size: batch, gradient_accumulation_steps: ga, max_steps: 4 });
  fs.writeFileSync(path.join(dir, 'trainer.json'), JSON.stringify(config));
  const r = runCli(['train', path.join(dir, 'trainer.json')]);
  assert.equal(r.code, 0, r.stderr);
  return (readJson(path.join(dir, 'out', 'trainer_state.json')).log_history as { loss?: number; grad_norm: number }[])
    .filter((e) => e.loss !== undefined) as { loss: number; grad_norm: number }[];
}

for (const name of ['bert_tokcls_ts', 'gpt2_clm_ts']) {
  test(`${name}: two micro-batches of 8 train like one batch of 16 (loss over the window's tokens)`, () => {
    const fixture = path.join(FIXTURES, 'tasks', name);
    // The premise: the rows' target counts differ, so a mean of micro-batch means would not do.
    const rows = fs.readFileSync(path.join(fixture, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const targets = rows.map((r) => (r.labels ?? r.input_ids).filter((v: number) => v !== -100).length);
    assert.ok(new Set(targets).size > 1);
    const whole = train(fixture, 16, 1);
    const accumulated = train(fixture, 8, 2);
    assert.equal(accumulated.length, whole.length);
    whole.forEach((w, i) => {
      assert.ok(Math.abs(accumulated[i].loss - w.loss) <= 1e-5 * Math.abs(w.loss), `step ${i + 1}: loss ${accumulated[i].loss} vs ${w.loss}`);
      assert.ok(Math.abs(accumulated[i].grad_norm - w.grad_norm) <= 1e-4 * w.grad_norm, `step ${i + 1}: grad_norm ${accumulated[i].grad_norm} vs ${w.grad_norm}`);
    });
  });
}
