// After a restart (or for runs another window started), a run's status comes from its directory:
// a lock left by a dead process means it failed; trainer_state.json means it finished or stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { endedStatus } from '../../src/extension/checkpointListing';
import { pythonJson } from '../../src/trainer/loop/state';
import { processStartTime } from '../../src/trainer/runDirectory';
import { tempDir } from '../helpers';

function state(dir: string, global: number, max: number, summary = true) {
  const log_history = [{ loss: 1, step: global }, ...(summary ? [{ train_runtime: 1, step: global }] : [])];
  fs.writeFileSync(path.join(dir, 'trainer_state.json'), pythonJson({ global_step: global, max_steps: max, log_history }));
}

test('an empty or fresh directory is idle', () => {
  assert.deepEqual(endedStatus(path.join(tempDir('ended'), 'missing')), { status: 'idle' });
});

test('a run that reached max_steps finished; one that ended before it stopped', () => {
  const a = tempDir('ended');
  state(a, 10, 10);
  assert.equal(endedStatus(a).status, 'finished');
  const b = tempDir('ended');
  state(b, 4, 10);
  assert.deepEqual(endedStatus(b), { status: 'stopped', message: 'Stopped at step 4 of 10.' });
});

test('a lock left by a process that is gone means the run failed', () => {
  const dir = tempDir('ended');
  state(dir, 4, 10);
  fs.writeFileSync(path.join(dir, '.trainer.lock'), '2147483646\n');
  assert.equal(endedStatus(dir).status, 'failed');
});

test('a lock held by a live process means another process is training', (t) => {
  const dir = tempDir('ended');
  // Another live process (this test's own pid would be a stale lock: see loop/lock.test.ts).
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => other.kill('SIGKILL'));
  fs.writeFileSync(path.join(dir, '.trainer.lock'), JSON.stringify({ pid: other.pid, start_time: processStartTime(other.pid!), host: os.hostname() }));
  assert.deepEqual(endedStatus(dir), { status: 'idle', message: `Being trained by another process (pid ${other.pid}).` });
});
