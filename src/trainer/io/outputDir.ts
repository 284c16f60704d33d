// Whether a run can write its output_dir, checked before anything is loaded, so that a path
// that is a file, too long, or on a read-only or forbidden disk is a config error naming
// training.output_dir rather than a raw ENOTDIR / EACCES / ENAMETOOLONG in the middle of a run.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeFsError } from './durable';

/** Longest file name most file systems allow, in bytes. */
const NAME_MAX = 255;
/** Longest path Linux accepts, in bytes. */
const PATH_MAX = 4095;

/** What makes `dir` unusable as output_dir, in words, or undefined when it can be written. */
export function outputDirProblem(dir: string): string | undefined {
  // A run's own files add up to ~60 bytes (checkpoint-123456/.optimizer.safetensors.tmp-1234567).
  if (Buffer.byteLength(dir) + 60 > PATH_MAX) return `${dir.slice(0, 60)}… is too long a path (${Buffer.byteLength(dir)} bytes)`;
  const long = dir.split(path.sep).find((part) => Buffer.byteLength(part) > NAME_MAX - 40);
  if (long) return `the folder name "${long.slice(0, 40)}…" is too long (${Buffer.byteLength(long)} bytes; file systems allow ${NAME_MAX})`;
  // The nearest part of the path that exists decides: it must be a folder we may write into.
  let existing = dir;
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(existing);
  } catch (e) {
    return `${existing}: ${describeFsError(e)}`;
  }
  if (!stat.isDirectory()) return existing === dir ? `${dir} is a file; expected a folder` : `${existing} is a file, so ${dir} cannot be created`;
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (e) {
    return `${existing} cannot be written (${describeFsError(e)})`;
  }
  return undefined;
}
