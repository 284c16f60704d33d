// Acceptance: every task case of shared/fixtures/tasks (copied to test/fixtures/tasks; made by
// Hugging Face's Trainer, see its README) trains with `onnx-trainer train <case>/trainer.json`
// and matches Trainer's log per step within 2e-3 relative on loss, learning_rate, grad_norm and
// epoch, and trains exactly the parameters that receive a gradient in PyTorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, copyFixture, readJson, runCli, tempDir } from '../helpers';

const TASKS_DIR = path.join(FIXTURES, 'tasks');
const casesIn = (dir: string) => fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'expected.json'))).sort();
const CASES = casesIn(TASKS_DIR);
// The token-level tasks in more families, made the same way (test/fixtures/tasks-probe/README.md).
const PROBE_DIR = path.join(FIXTURES, 'tasks-probe');
const KEYS = ['loss', 'learning_rate', 'grad_norm', 'epoch'] as const;
const TOLERANCE = 2e-3;

function relative(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), 1e-3);
}

test('the task fixtures cover every task beyond sequence classification (and LoRA on a classifier)', () => {
  const tasks = new Set(CASES.map((c) => (readJson(path.join(TASKS_DIR, c, 'trainer.json')).model as { task: string }).task));
  assert.deepEqual([...tasks].sort(), ['fill-mask', 'question-answering', 'text-classification', 'text-generation', 'token-classification']);
});

for (const [name, fixture] of [...CASES.map((c) => [c, path.join(TASKS_DIR, c)]), ...casesIn(PROBE_DIR).map((c) => [c, path.join(PROBE_DIR, c)])]) {

  test(`${name}: check counts the parameters PyTorch updates`, () => {
    const params = readJson(path.join(fixture, 'params.json')) as { trainable_parameters_with_gradient?: number; trainable_parameters: number };
    // `check CONFIG` sees what training sees: the task's outputs, and LoRA's adapters.
    const r = runCli(['check', path.join(fixture, 'trainer.json')]);
    const m = /trainable parameters: \d+ tensors, ([\d,]+) values/.exec(r.stdout);
    assert.ok(m, `check printed no parameter count:\n${r.stdout}\n${r.stderr}`);
    // PyTorch also counts parameters the loss never reaches (an unused LM-head bias); they are not in the graph.
    assert.equal(Number(m[1].replace(/,/g, '')), params.trainable_parameters_with_gradient ?? params.trainable_parameters);
  });

  test(`${name}: trains like Hugging Face's Trainer, step by step`, () => {
    const expected = readJson(path.join(fixture, 'expected.json')) as Record<(typeof KEYS)[number], number[]>;
    const dir = tempDir(`tasks-${name}`);
    copyFixture(fixture, dir);
    const r = runCli(['train', path.join(dir, 'trainer.json')]);
    assert.equal(r.code, 0, r.stderr);
    const state = readJson(path.join(dir, 'out', 'trainer_state.json')) as { log_history: Record<string, number>[] };
    const logs = state.log_history.filter((e) => 'loss' in e);
    assert.equal(logs.length, expected.loss.length);
    for (const key of KEYS) {
      expected[key].forEach((want, i) => {
        const got = logs[i][key];
        assert.ok(relative(got, want) <= TOLERANCE, `step ${i + 1}: ${key} ${got} vs Trainer's ${want}`);
      });
    }
  });
}
