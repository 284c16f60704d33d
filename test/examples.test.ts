// The examples run with one command each and reach accuracy far above chance (they are also
// what the README promises). Each trains for real, so together these take a minute or two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

function runExample(name: string): { best: number } {
  const out = path.join(ROOT, 'examples', name, 'out');
  fs.rmSync(out, { recursive: true, force: true });
  const start = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'example.mjs'), name], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  // How long it took is reported, not asserted: tests do not time (the machine may be busy).
  process.stderr.write(`example ${name}: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  const state = JSON.parse(fs.readFileSync(path.join(out, 'trainer_state.json'), 'utf8')) as { best_metric: number };
  return { best: state.best_metric };
}

const CASES: [string, number][] = [
  ['sentiment', 0.8],
  ['paraphrase', 0.75],
];

for (const [name, floor] of CASES) {
  test(`the ${name} example trains with one command and reaches accuracy ≥ ${floor} (chance: 0.5)`, { timeout: 600_000 }, () => {
    const { best } = runExample(name);
    assert.ok(best >= floor, `best eval accuracy ${best}`);
  });
}

test('the digits-folder example trains from PNG files in class folders with one command and reaches accuracy ≥ 0.95', { timeout: 600_000 }, () => {
  const { best } = runExample('digits-folder');
  assert.ok(best >= 0.95, `best eval accuracy ${best}`);
});

test('the ner example tags entities with entity F1 ≥ 0.9', { timeout: 600_000 }, () => {
  const { best } = runExample('ner');
  assert.ok(best >= 0.9, `best eval f1 ${best}`);
});

test('the story example learns its grammar: perplexity below 4 (vocabulary of 200)', { timeout: 600_000 }, () => {
  const { best } = runExample('story');
  assert.ok(Math.exp(best) < 4, `best eval perplexity ${Math.exp(best)}`);
});

test('the cloze example fills masked words: masked-token accuracy ≥ 0.75', { timeout: 600_000 }, () => {
  const { best } = runExample('cloze');
  assert.ok(best >= 0.75, `best eval accuracy ${best}`);
});

test('the qa example answers SQuAD-shaped questions: answer-text F1 ≥ 50', { timeout: 600_000 }, () => {
  const { best } = runExample('qa');
  assert.ok(best >= 50, `best eval f1 ${best}`);
});
