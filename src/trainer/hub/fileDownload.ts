// Fetches one file of a commit into the cache, resumably. The Hub client gives the file's size,
// ETag and a Blob that reads byte ranges; what it lacks — a partial file kept on disk
// (blobs/<etag>.incomplete, huggingface_hub's name), resuming it with a Range request after a
// dropped connection or in a later run, progress, and the relative snapshot link — is here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { downloadFile, fileDownloadInfo } from '@huggingface/hub';
import { withBlobLock } from './blobLock';
import { blobFile, inSnapshot, linkIntoSnapshot, snapshotFolder } from './cache';
import { hubFailure } from './failures';
import { DownloadProgress } from './progress';
import { isRelativePath } from './reference';
import { HubSettings } from './settings';

/** Where files go and how to ask for them: one commit of one repository. */
export interface CommitTarget {
  repo: string;
  commit: string;
  /** The repository's cache folder. */
  folder: string;
  /** The hf:// name used in messages. */
  where: string;
  settings: HubSettings;
  progress: DownloadProgress;
}

/** huggingface_hub retries a broken transfer this many times, resuming each time. */
const ATTEMPTS = 5;

/** The ETag as a file name: without the weak prefix and quotes, as huggingface_hub stores it. */
export function blobName(etag: string): string {
  const name = etag.replace(/^W\//, '').replace(/"/g, '');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`the Hub sent an ETag that is not a file name: ${etag}`);
  return name;
}

/** Puts `file` of the target commit into its snapshot folder, downloading the blob unless cached. */
export async function fetchFile(target: CommitTarget, file: string): Promise<void> {
  // Names come from the repository's listing and are joined onto the cache folder: keep them inside it.
  if (!isRelativePath(file)) throw new Error(`${target.where}: the repository lists a file named "${file}", which is not a relative path`);
  const snapshot = snapshotFolder(target.folder, target.commit);
  // Snapshot files are immutable (a commit never changes), so a present link is final.
  if (inSnapshot(snapshot, file)) return;
  const { settings } = target;
  const request = { repo: { type: 'model' as const, name: target.repo }, path: file, revision: target.commit, hubUrl: settings.endpoint, accessToken: settings.token };
  let info;
  try {
    info = await fileDownloadInfo(request);
  } catch (e) {
    throw hubFailure(e, target.where, settings);
  }
  if (!info) throw new Error(`${target.where}: the repository lists ${file} but does not serve it`);
  const name = blobName(info.etag);
  const blob = blobFile(target.folder, name);
  const complete = () => fs.existsSync(blob) && fs.statSync(blob).size === info.size;
  if (!complete()) {
    const lock = path.join(settings.cacheDir, '.locks', path.basename(target.folder), `${name}.trainer.lock`);
    await withBlobLock(lock, async () => {
      // Another process may have finished the blob while this one waited.
      if (!complete()) await downloadBlob(target, file, blob, info.size, () => downloadFile({ ...request, downloadInfo: info }));
    }, (pid) => target.progress.wait(file, pid));
  }
  linkIntoSnapshot(snapshot, file, blob);
}

/**
 * Appends the missing bytes to `<blob>.incomplete` — from where an earlier attempt or run
 * stopped — and renames it to the blob once it holds `size` bytes.
 */
async function downloadBlob(target: CommitTarget, file: string, blob: string, size: number, open: () => Promise<Blob | null>): Promise<void> {
  const partial = `${blob}.incomplete`;
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    let have = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
    if (have > size) {
      fs.rmSync(partial);
      have = 0;
    }
    target.progress.start(file, size, have);
    try {
      if (have < size) await appendFrom(target, open, partial, have);
    } catch (e) {
      if (attempt >= ATTEMPTS || isRefusal(e)) throw hubFailure(e, target.where, target.settings);
      continue;
    } finally {
      target.progress.done();
    }
    const got = fs.statSync(partial).size;
    if (got !== size) {
      // A server that ignored the Range request sent the whole file again after the partial one.
      fs.rmSync(partial);
      throw new Error(`${target.where}: ${file} arrived with ${got} bytes, expected ${size}; run again to download it afresh`);
    }
    fs.renameSync(partial, blob);
    return;
  }
}

/** An HTTP answer that a retry would not change (the client throws HubApiError for those). */
function isRefusal(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'statusCode' in e && (e as { statusCode: number }).statusCode < 500;
}

async function appendFrom(target: CommitTarget, open: () => Promise<Blob | null>, partial: string, from: number): Promise<void> {
  const source = await open();
  if (!source) throw new Error(`${target.where}: a file disappeared from the repository while downloading`);
  // The client's Blob turns slice() into a Range request (bytes=from-), so only missing bytes travel.
  const stream = (from > 0 ? source.slice(from) : source).stream();
  const fd = fs.openSync(partial, 'a');
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      fs.writeSync(fd, chunk);
      target.progress.advance(chunk.byteLength);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
