// One writer per run directory: a training process holds output_dir/.trainer.lock while it
// writes there. The lock records the writer's PID, its start time (Linux) and host, so that a
// lock left by a dead process is taken over even when its PID now belongs to another process
// (PID reuse in containers or after a reboot). A second run on the same output_dir — from
// another window, terminal or machine sharing the disk — is refused.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors';
import { LOCK_FILE, lockHolderAlive, processStartTime, readLock } from '../runDirectory';

/** The lock file's content for this process. */
function lockText(): string {
  return JSON.stringify({ pid: process.pid, start_time: processStartTime(process.pid), host: os.hostname() }) + '\n';
}

/**
 * Takes the lock of `outputDir`; returns the function that releases it. A folder the lock had to
 * create is removed again on release if nothing else was written into it (a run refused early,
 * e.g. for a bad checkpoint, leaves nothing behind).
 */
export function lockRunDirectory(outputDir: string): () => void {
  const created = !fs.existsSync(outputDir);
  fs.mkdirSync(outputDir, { recursive: true });
  const file = path.join(outputDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // 'wx' creates the file only if it does not exist: two runs cannot both take it.
      fs.writeFileSync(file, lockText(), { flag: 'wx' });
      return () => {
        try {
          if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
          if (created && fs.readdirSync(outputDir).length === 0) fs.rmdirSync(outputDir);
        } catch {
          // Already gone.
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readLock(file);
      if (holder && lockHolderAlive(holder)) {
        throw new UserError(`${outputDir} is being written by another training run (process ${holder.pid}); wait for it, stop it, or choose another output_dir`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new UserError(`${outputDir}: cannot take the run directory's lock (${LOCK_FILE})`);
}
