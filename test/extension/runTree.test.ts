// The checkpoint tree built from a run directory: checkpoints with step, epoch and metrics, the
// best one marked, and the rows the tree shows for each run status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StateCache, latestResumable, readCheckpoints } from '../../src/extension/checkpointListing';
import { RunData, checkpointNodes, formatMetric, runNode, treeSignature } from '../../src/extension/treeModel';
import { REQUIRED_FILES } from '../../src/trainer/loop/checkpoints';
import { pythonJson } from '../../src/trainer/loop/state';
import { tempDir } from '../helpers';

/** A run directory like the engine writes, with checkpoints at `steps`. */
function runDir(steps: number[], opts: { best?: number; partial?: number[] } = {}): string {
  const dir = tempDir('rundir');
  for (const step of steps) {
    const ck = path.join(dir, `checkpoint-${step}`);
    fs.mkdirSync(ck);
    for (const f of REQUIRED_FILES) if (!opts.partial?.includes(step)) fs.writeFileSync(path.join(ck, f), '{}');
    const history = steps.filter((s) => s <= step).flatMap((s) => [
      { loss: 1 / s, step: s, epoch: s / 100 },
      { eval_loss: 1 / s, eval_accuracy: s === 200 ? 0.99 : 0.5 + s / 10_000, eval_runtime: 0.1, eval_samples_per_second: 9, step: s, epoch: s / 100 },
    ]);
    fs.writeFileSync(path.join(ck, 'trainer_state.json'), pythonJson({
      global_step: step, epoch: step / 100, log_history: history,
      best_model_checkpoint: opts.best ? path.join(dir, `checkpoint-${opts.best}`) : null,
    }));
  }
  fs.mkdirSync(path.join(dir, '.tmp-checkpoint-999-123'));
  fs.mkdirSync(path.join(dir, 'runs'));
  return dir;
}

test('checkpoints are read with their step, epoch and evaluation metrics (speeds left out)', () => {
  const dir = runDir([100, 200, 300]);
  const cks = readCheckpoints(dir);
  assert.deepEqual(cks.map((c) => c.name), ['checkpoint-100', 'checkpoint-200', 'checkpoint-300'], 'oldest first; temporary folders ignored');
  assert.equal(cks[1].epoch, 2);
  assert.deepEqual(cks[1].metrics, { eval_loss: 0.005, eval_accuracy: 0.99 });
  assert.ok(cks.every((c) => c.resumable));
});

test('the best checkpoint is the one the trainer named, or else the best value of metric_for_best_model', () => {
  assert.equal(readCheckpoints(runDir([100, 200, 300], { best: 100 })).find((c) => c.best)?.step, 100);
  assert.equal(readCheckpoints(runDir([100, 200, 300]), { metricForBest: 'accuracy', greaterIsBetter: true }).find((c) => c.best)?.step, 200);
  assert.equal(readCheckpoints(runDir([100, 200, 300]), { metricForBest: 'eval_loss', greaterIsBetter: false }).find((c) => c.best)?.step, 300);
  assert.equal(readCheckpoints(runDir([100, 200])).some((c) => c.best), false, 'no rule, no best');
});

test('checkpoint states are parsed once and read again only when their file changes', () => {
  const dir = runDir([100, 200]);
  const cache: StateCache = new Map();
  readCheckpoints(dir, undefined, cache);
  assert.equal(cache.size, 2);
  const first = cache.get(path.join(dir, 'checkpoint-100'))!.state;
  readCheckpoints(dir, undefined, cache);
  assert.equal(cache.get(path.join(dir, 'checkpoint-100'))!.state, first, 'unchanged: the parsed state is reused');
  fs.writeFileSync(path.join(dir, 'checkpoint-100', 'trainer_state.json'), pythonJson({ global_step: 100, epoch: 7, log_history: [] }));
  assert.equal(readCheckpoints(dir, undefined, cache)[0].epoch, 7);
  fs.rmSync(path.join(dir, 'checkpoint-200'), { recursive: true });
  readCheckpoints(dir, undefined, cache);
  assert.deepEqual([...cache.keys()], [path.join(dir, 'checkpoint-100')], 'deleted checkpoints leave the cache');
});

test('a checkpoint without optimizer state cannot be resumed; the latest resumable one is picked', () => {
  const cks = readCheckpoints(runDir([100, 200, 300], { partial: [300] }));
  assert.equal(cks[2].resumable, false);
  assert.equal(latestResumable(cks)?.step, 200);
  assert.deepEqual(readCheckpoints(path.join(tempDir('none'), 'missing')), [], 'a run directory that does not exist yet has no checkpoints');
});

function run(status: RunData['status'], extra: Partial<RunData> = {}): RunData {
  return { id: '/w/out', label: 'digits', outputDir: '/w/out', configs: ['/w/trainer.yaml'], status, progress: null, checkpoints: [], ...extra };
}

test('a run row says what the run is doing and how many checkpoints it has', () => {
  const cks = readCheckpoints(runDir([100, 200]));
  const progress = { step: 150, maxSteps: 400, epoch: 1.5, samplesPerSecond: 10, etaSeconds: 5, loss: 0.1, startStep: 0 };
  assert.equal(runNode(run('idle')).description, 'no checkpoints');
  assert.equal(runNode(run('idle', { checkpoints: cks })).description, '2 checkpoints');
  assert.equal(runNode(run('starting')).description, 'train: starting');
  assert.equal(runNode(run('running', { progress, command: 'train' })).description, 'training: step 150/400');
  assert.equal(runNode(run('running', { command: 'evaluate' })).description, 'evaluate…');
  assert.equal(runNode(run('stopped', { checkpoints: cks })).description, 'stopped · 2 checkpoints');
  assert.equal(runNode(run('failed')).description, 'failed · no checkpoints');
  assert.equal(runNode(run('running', { progress })).contextValue, 'run.running');
  assert.equal(runNode(run('finished')).contextValue, 'run');
  assert.match(runNode(run('failed', { message: 'The trainer process was killed (SIGKILL).' })).tooltip, /SIGKILL/);
  const broken = runNode(run('idle', { problem: 'training.learning_rat: unknown key; did you mean "learning_rate"?' }));
  assert.equal(broken.description, 'config error · no checkpoints');
  assert.equal(broken.icon, 'problem');
  assert.match(broken.tooltip, /Config error: training\.learning_rat: unknown key/);
});

test('checkpoint rows are newest first, with step, epoch, metrics and the best one starred', () => {
  const cks = readCheckpoints(runDir([100, 200, 300], { best: 200, partial: [300] }));
  const rows = checkpointNodes(run('idle', { checkpoints: cks }));
  assert.deepEqual(rows.map((r) => r.label), ['checkpoint-300', 'checkpoint-200', 'checkpoint-100']);
  assert.equal(rows[1].description, '★ best · step 200 · epoch 2 · loss 0.005 · accuracy 0.99');
  assert.equal(rows[1].contextValue, 'checkpoint.best');
  assert.equal(rows[0].contextValue, 'checkpoint.partial');
  assert.match(rows[0].description, /not resumable$/);
  assert.match(rows[2].tooltip, /Click to resume training from here/);
});

test('metrics are short in tree rows', () => {
  assert.equal(formatMetric(0.97312345), '0.9731');
  assert.equal(formatMetric(3), '3');
  assert.equal(formatMetric(1234.5678), '1234.6');
  assert.equal(formatMetric(0.00001234), '1.23e-5');
  assert.equal(formatMetric(NaN), 'NaN');
});

test('the tree is redrawn only for changes it shows: not a stopped run\'s progress, not a running one\'s loss', () => {
  const cks = readCheckpoints(runDir([100, 200]));
  const progress = { step: 150, maxSteps: 400, epoch: 1.5, samplesPerSecond: 10, etaSeconds: 5, loss: 0.1, startStep: 0 };
  const stopped = run('stopped', { checkpoints: cks, progress, message: 'stopped; checkpoint saved' });
  const same = treeSignature([stopped]);
  assert.equal(treeSignature([{ ...stopped, progress: { ...progress, step: 151 }, command: 'train' }]), same, 'a stopped row shows no step');
  assert.notEqual(treeSignature([{ ...stopped, message: 'stopped' }]), same, 'the message is in the tooltip');
  assert.notEqual(treeSignature([{ ...stopped, status: 'finished' }]), same);
  assert.notEqual(treeSignature([{ ...stopped, checkpoints: cks.slice(1) }]), same, 'a checkpoint rotated away');
  assert.notEqual(treeSignature([{ ...stopped, checkpoints: [cks[0], { ...cks[1], resumable: false }] }]), same, 'a checkpoint\'s click command comes or goes');
  const running = run('running', { progress, command: 'train' });
  assert.notEqual(treeSignature([{ ...running, progress: { ...progress, step: 151 } }]), treeSignature([running]), 'a running row shows its step');
  assert.equal(treeSignature([{ ...running, progress: { ...progress, loss: 0.05, etaSeconds: 4 } }]), treeSignature([running]), 'but not its loss');
});
