// What a click on a checkpoint row acts on (picks.ts): the checkpoint it names while its folder is
// there; once save_total_limit has rotated it away (the tree's row can be older than the click), a
// warning naming it and a re-read of the run's checkpoints, never a silent no-op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installFakeVscode, recorded } from './fakeVscode';
import { REQUIRED_FILES } from '../../src/trainer/loop/checkpoints';
import { tempDir } from '../helpers';

installFakeVscode();
/* eslint-disable @typescript-eslint/no-require-imports */
const { pickCheckpoint } = require('../../src/extension/picks') as typeof import('../../src/extension/picks');
const { readCheckpoints } = require('../../src/extension/checkpointListing') as typeof import('../../src/extension/checkpointListing');
const { checkpointNodes } = require('../../src/extension/treeModel') as typeof import('../../src/extension/treeModel');
/* eslint-enable @typescript-eslint/no-require-imports */
import type { Run, RunRegistry } from '../../src/extension/registry';

/** A run directory with resumable checkpoints at `steps`, and the registry's view of it. */
function runWith(steps: number[]) {
  const dir = tempDir('picks');
  for (const step of steps) {
    const ck = path.join(dir, `checkpoint-${step}`);
    fs.mkdirSync(ck);
    for (const f of REQUIRED_FILES) fs.writeFileSync(path.join(ck, f), '{}');
    fs.writeFileSync(path.join(ck, 'trainer_state.json'), JSON.stringify({ global_step: step, log_history: [] }));
  }
  const summary = { file: path.join(dir, 'trainer.yaml'), outputDir: dir, label: 'moons' };
  const run = { id: 'run:moons', label: 'moons', outputDir: dir, summary, status: 'stopped', checkpoints: readCheckpoints(dir) } as unknown as Run;
  const synced: string[] = [];
  const registry = {
    get: (id: string) => (id === run.id ? run : undefined),
    syncCheckpoints: (r: Run) => {
      synced.push(r.id);
      r.checkpoints = readCheckpoints(dir);
    },
  } as unknown as RunRegistry;
  return { dir, run, registry, synced, rows: checkpointNodes(run as never) };
}

test('a clicked checkpoint row resolves to its checkpoint while its folder is there', async () => {
  const { run, registry, rows } = runWith([100, 200]);
  const row = rows.find((r) => r.step === 100)!;
  const picked = await pickCheckpoint(registry, row, { resumable: true, title: 'Resume from Checkpoint' });
  assert.equal(picked?.run, run);
  assert.equal(picked?.checkpoint.step, 100);
});

test('a row whose checkpoint was rotated away warns, naming it, and re-reads the run', async () => {
  for (const registryKnows of [true, false]) {
    const { dir, run, registry, synced, rows } = runWith([100, 200, 300]);
    const row = rows.find((r) => r.step === 100)!;
    fs.rmSync(path.join(dir, 'checkpoint-100'), { recursive: true });
    // The registry may have read the deletion already (the row is only older than it) or not yet.
    if (!registryKnows) assert.ok(run.checkpoints.some((c) => c.step === 100));
    else registry.syncCheckpoints(run);
    synced.length = 0;
    recorded.warnings.length = 0;
    const picked = await pickCheckpoint(registry, row, { resumable: true, title: 'Resume from Checkpoint' });
    assert.equal(picked, undefined);
    assert.equal(recorded.warnings.length, 1);
    assert.match(recorded.warnings[0], /checkpoint-100 is no longer in .*save_total_limit/);
    assert.deepEqual(synced, [run.id], 'the run\'s checkpoints are read again');
    assert.deepEqual(run.checkpoints.map((c) => c.step), [200, 300]);
  }
});
