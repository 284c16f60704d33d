// Config discovery: which files are configs, what the extension reads from one, and how configs
// group into runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { isTrainerConfig, runLabel, summarizeConfig } from '../../src/extension/configFiles';
import { indexRuns, runIdOf } from '../../src/extension/runIndex';

const VALID = `model:
  builtin: mlp
  num_labels: 2
data:
  train: train.jsonl
training:
  output_dir: runs/a
  metric_for_best_model: accuracy
`;

test('trainer.yaml|yml|json and NAME.trainer.yaml|yml|json are configs; other YAML files are not', () => {
  for (const f of ['trainer.yaml', 'trainer.yml', 'trainer.json', 'a/b/small.trainer.yaml', 'x.trainer.json', 'my.big.trainer.yml']) assert.ok(isTrainerConfig(f), f);
  for (const f of ['trainer.yaml.bak', 'config.yaml', 'trainer.txt', '.trainer.yaml', 'mytrainer.yaml', 'trainer_state.json', 'training_args.json']) assert.ok(!isTrainerConfig(f), f);
});

test('a valid config gives its absolute output_dir and best-checkpoint rule', () => {
  const s = summarizeConfig('/w/exp/trainer.yaml', VALID);
  assert.equal(s.outputDir, path.resolve('/w/exp/runs/a'));
  assert.equal(s.metricForBest, 'accuracy');
  assert.equal(s.greaterIsBetter, true);
  assert.equal(s.problem, undefined);
});

test('a typo is a problem with its line and key, and the output_dir is still found', () => {
  const s = summarizeConfig('/w/exp/trainer.yaml', VALID.replace('  output_dir', '  learning_rat: 0.1\n  output_dir'));
  assert.deepEqual(s.problem, { line: 7, key: 'training.learning_rat', message: 'training.learning_rat: unknown key; did you mean "learning_rate"?' });
  assert.equal(s.outputDir, path.resolve('/w/exp/runs/a'));
  assert.equal(s.metricForBest, 'accuracy');
});

test('broken YAML is a problem on its line, and the run directory falls back to the default', () => {
  const s = summarizeConfig('/w/trainer.yaml', 'model:\n  builtin: [mlp\n');
  assert.ok(s.problem);
  assert.match(s.problem.message, /not valid YAML/);
  assert.equal(s.outputDir, path.resolve('/w/trainer_output'));
});

test('runs are named after the config folder, plus the config name when it is not trainer.yaml', () => {
  assert.equal(runLabel('/w/examples/digits/trainer.yaml', '/w'), 'examples/digits');
  assert.equal(runLabel('/w/exp/small.trainer.yaml', '/w'), 'exp/small');
  assert.equal(runLabel('/w/small.trainer.yaml', '/w'), 'small');
  assert.equal(runLabel('/w/trainer.yaml', '/w'), 'w');
  assert.equal(runLabel('/elsewhere/x/trainer.json', '/w'), 'x');
  assert.equal(runLabel('/elsewhere/x/trainer.json', undefined), 'x');
});

test('configs writing to the same output_dir are one run, labelled by the first config', () => {
  const a = summarizeConfig('/w/a/trainer.yaml', VALID.replace('runs/a', '../shared'));
  const b = summarizeConfig('/w/b/trainer.yaml', VALID.replace('runs/a', '../shared'));
  const c = summarizeConfig('/w/c/fast.trainer.yaml', VALID);
  const runs = indexRuns([b, c, a], () => '/w');
  assert.equal(runs.length, 2);
  const shared = runs.find((r) => r.outputDir === path.resolve('/w/shared'))!;
  assert.equal(shared.label, 'a');
  assert.deepEqual(shared.configs, ['/w/a/trainer.yaml', '/w/b/trainer.yaml']);
  assert.equal(shared.id, runIdOf('/w/shared'));
  assert.deepEqual(runs.map((r) => r.label), ['a', 'c/fast']);
});

test('run ids fold case where the file system does', () => {
  assert.equal(runIdOf('/W/Out', 'darwin'), runIdOf('/w/out', 'darwin'));
  assert.notEqual(runIdOf('/W/Out', 'linux'), runIdOf('/w/out', 'linux'));
});
