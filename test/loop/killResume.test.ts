// SIGKILL at any moment — between steps, while a checkpoint is written or rotated away, after the
// last checkpoint while the final model is written — and a resume still ends exactly where the
// uninterrupted run ends: the same logged losses, the same final weights, bit for bit. Thirty
// moments from a seeded generator, so a failure can be replayed.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastCheckpoint } from '../../src/trainer/loop/checkpoints';
import { FIXTURES, ROOT, runCli, tempDir, writeConfig } from '../helpers';

const STEPS = 12;

function project(): { dir: string; config: string; out: string } {
  const dir = tempDir('kill-resume');
  fs.copyFileSync(path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl'), path.join(dir, 'train.jsonl'));
  const config = writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [32], dropout: 0.1, num_labels: 3 },
    data: { train: 'train.jsonl' },
    // save_total_limit makes every save rotate an older checkpoint away.
    training: { output_dir: 'out', max_steps: STEPS, per_device_train_batch_size: 8, save_steps: 1, save_total_limit: 2, logging_steps: 1, seed: 3, report_to: 'none', disable_tqdm: true },
  });
  return { dir, config, out: path.join(dir, 'out') };
}

/** What must not depend on interruptions: logged losses and grad norms, and the final weights. */
function outcome(out: string) {
  const log = fs.readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
    .filter((e) => 'loss' in e).map((e) => [e.step, e.loss, e.grad_norm, e.learning_rate]);
  const bytes = (f: string) => fs.readFileSync(path.join(out, f)).toString('base64');
  return { log, model: bytes('model.safetensors'), optimizer: bytes(`checkpoint-${STEPS}/optimizer.safetensors`) };
}

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Moment = { name: string; when: (elapsedMs: number, entries: string[]) => boolean };

/** Starts training and SIGKILLs it at `moment` (checked continuously); true if it was killed. */
async function killAt(config: string, out: string, moment: Moment): Promise<boolean> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'onnx-trainer.js'), 'train', config], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const start = Date.now();
  let killed = false;
  while (child.exitCode === null && child.signalCode === null) {
    const entries = fs.existsSync(out) ? fs.readdirSync(out) : [];
    if (moment.when(Date.now() - start, entries)) {
      killed = child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setImmediate(r));
  }
  await exited;
  return killed;
}

let reference: ReturnType<typeof outcome>;
let referenceMs = 0;

before(() => {
  const { config, out } = project();
  const start = Date.now();
  const r = runCli(['train', config]);
  referenceMs = Date.now() - start;
  assert.equal(r.code, 0, r.stderr);
  reference = outcome(out);
});

function moments(): Moment[] {
  const rnd = random(20261202);
  const writing = (step: number) => (_: number, e: string[]) => e.some((n) => n.startsWith(`.tmp-checkpoint-${step}-`));
  const events: Moment[] = [
    { name: 'while checkpoint-1 is written', when: writing(1) },
    { name: 'while checkpoint-5 is written', when: writing(5) },
    { name: `while checkpoint-${STEPS} is written`, when: writing(STEPS) },
    { name: 'while a checkpoint is rotated away', when: (_, e) => e.some((n) => n.startsWith('.tmp-delete-checkpoint-')) },
    { name: 'while the second rotation is under way', when: (_, e) => e.some((n) => n.startsWith('.tmp-delete-checkpoint-4-')) },
    { name: 'after the last checkpoint', when: (_, e) => e.includes(`checkpoint-${STEPS}`) },
    { name: 'while the final model is written', when: (_, e) => e.some((n) => n.startsWith('.model.') || n.startsWith('.config.json.tmp')) },
  ];
  const timed = Array.from({ length: 30 - events.length }, () => {
    const ms = Math.round(rnd() * referenceMs);
    return { name: `after ${ms} ms`, when: (elapsed: number) => elapsed >= ms };
  });
  return [...events, ...timed];
}

test('a run SIGKILLed at any of 30 moments resumes to the very same losses and weights', async () => {
  const all = moments();
  assert.equal(all.length, 30);
  for (const moment of all) {
    const { config, out } = project();
    const killed = await killAt(config, out, moment);
    if (killed) {
      const resumeFrom = lastCheckpoint(out);
      const r = runCli(['train', config, ...(resumeFrom ? ['--resume'] : [])]);
      assert.equal(r.code, 0, `${moment.name}: ${r.stderr}`);
    }
    assert.deepEqual(outcome(out), reference, `killed ${moment.name}${killed ? '' : ' (the run ended first)'}: the outcome differs`);
    assert.ok(!fs.readdirSync(out).some((n) => /^\.tmp-|\.tmp-\d+$/.test(n)), `${moment.name}: no temporary file or folder is left`);
  }
});
