// One downloader per blob: two runs that start on the same Hub model at once (two windows, or
// a terminal and the editor) would otherwise append to the same .incomplete file. The lock is a
// file holding the downloader's pid, in huggingface_hub's .locks/ folder under a name of its own
// (Python's filelock files there are flock()ed, not created exclusively); a dead holder's lock
// is taken over.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { processAlive } from '../runDirectory';

const POLL_MS = 250;
/** A lock file without a pid yet is being written; only an old one is abandoned. */
const EMPTY_GRACE_MS = 2000;

function holder(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Runs `fn` holding the lock file `file`, waiting while a live process holds it. */
export async function withBlobLock<T>(file: string, fn: () => Promise<T>, onWait?: (pid: number) => void): Promise<T> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = holder(file);
      const abandoned = pid === undefined ? Date.now() - mtime(file) > EMPTY_GRACE_MS : !processAlive(pid);
      if (abandoned) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (pid !== undefined && !told) {
        onWait?.(pid);
        told = true;
      }
      await new Promise((ok) => setTimeout(ok, POLL_MS));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
