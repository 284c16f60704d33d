// Durable file writes: every file a run writes goes to a temporary name beside it, is flushed
// to disk (fsync) and renamed over the real name, so a full disk, a crash or a SIGKILL leaves
// either the old file or the new one, never a truncated one. Folders that go (checkpoint
// rotation) are first renamed to a temporary name, so a half-deleted folder never looks like a
// checkpoint.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** What a failed write reports: one line naming the file and the cause in words. */
export class WriteError extends Error {
  constructor(readonly file: string, readonly code: string | undefined, cause: string) {
    super(`cannot write ${file}: ${cause}`);
    this.name = 'WriteError';
  }
}

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'the path is too long',
  ENOENT: 'its folder does not exist',
  EMFILE: 'too many open files',
  EIO: 'an input/output error of the device',
  EFBIG: 'the file would be larger than allowed (file size limit)',
};

/** Turns a Node file-system error into words (no bare errno codes in messages). */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code && CAUSES[err.code]) ?? err.message;
}

/** Whether an error is a Node file-system error with a code. */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** One read or write call moves at most 2 GiB − 1 bytes: bigger tensors (models over 2 GB) go in 1 GiB pieces. */
const IO_CHUNK = 1 << 30;

/** Reads `into.byteLength` bytes from `position`, in IO_CHUNK pieces; fewer only at the end of the file. */
export function readFully(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.byteLength) {
    const got = fs.readSync(fd, into, done, Math.min(IO_CHUNK, into.byteLength - done), position + done);
    if (got === 0) break;
    done += got;
  }
  return done;
}

/**
 * Writes every byte: a write may be short (a full disk, a file size limit) without an error, and
 * the next one then reports why.
 */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done));
}

/**
 * Creates `file` as `create` makes it under a temporary name beside it, then renames it into place
 * and syncs the folder; on failure the temporary file goes and the error names `file`.
 */
function throughTemporary(file: string, create: (tmp: string) => void): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    create(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The temporary file could not even be created.
    }
    throw new WriteError(file, (e as NodeJS.ErrnoException).code, describeFsError(e));
  }
  syncFolder(path.dirname(file));
}

/** Writes `data` to `file` through a temporary file, fsync and rename. */
export function writeFileDurably(file: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  throughTemporary(file, (tmp) => {
    const fd = fs.openSync(tmp, 'w');
    try {
      const chunks = typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
      for (const chunk of chunks) writeAll(fd, chunk);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/**
 * Makes `file` a second name of `existing` (a hard link: the bytes are stored once), through a
 * temporary name and a rename like every write. Where the file system has no hard links, a copy.
 */
export function linkFileDurably(existing: string, file: string): void {
  throughTemporary(file, (tmp) => {
    fs.rmSync(tmp, { force: true });
    try {
      fs.linkSync(existing, tmp);
    } catch (e) {
      if (!['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      fs.copyFileSync(existing, tmp);
      const fd = fs.openSync(tmp, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  });
}

/**
 * Appends to an append-only log (the JSONL log, TensorBoard events), where a torn last line is
 * tolerated by every reader; a failure names the file like a durable write's.
 */
export function appendToLog(file: string, data: string | Uint8Array): void {
  try {
    fs.appendFileSync(file, data);
  } catch (e) {
    throw new WriteError(file, (e as NodeJS.ErrnoException).code, describeFsError(e));
  }
}

/** Flushes a folder's entries (a rename is durable only once its folder is). */
export function syncFolder(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems (and Windows) cannot open or sync a folder; the rename still happened.
  }
}

/** The temporary name a folder takes while it is being deleted. */
export function deletingName(dir: string): string {
  return path.join(path.dirname(dir), `.tmp-delete-${path.basename(dir)}-${process.pid}`);
}

/** Deletes a folder by renaming it away first, so no half-deleted folder keeps its real name. */
export function removeFolderDurably(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const away = deletingName(dir);
  fs.rmSync(away, { recursive: true, force: true });
  fs.renameSync(dir, away);
  syncFolder(path.dirname(dir));
  fs.rmSync(away, { recursive: true, force: true });
}
