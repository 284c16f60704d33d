// huggingface_hub's cache layout, shared with Python tools:
//   <cache>/models--ORG--NAME/blobs/<etag>                 file contents, one per version
//   <cache>/models--ORG--NAME/snapshots/<commit>/<path>    relative symlinks into blobs/
//   <cache>/models--ORG--NAME/refs/<revision>              the commit a branch or tag pointed to
// A file in a snapshot folder is complete by construction: blobs are renamed into place only
// once every byte is on disk, and the link is made after that.

import { writeFileDurably } from '../io/durable';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';
import { HubReference } from './reference';
import { HubSettings } from './settings';
import { chooseOnnxFile } from './modelFiles';

const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The cache folder of a model repository. */
export function repoFolder(settings: HubSettings, repo: string): string {
  return path.join(settings.cacheDir, getRepoFolderName({ name: repo, type: 'model' }));
}

/** The commit a revision resolves to in the cache (a commit hash is its own), or undefined. */
export function cachedCommit(folder: string, revision: string): string | undefined {
  if (COMMIT_HASH.test(revision)) return revision;
  const ref = path.join(folder, 'refs', revision);
  if (!fs.existsSync(ref)) return undefined;
  const sha = fs.readFileSync(ref, 'utf8').trim();
  return COMMIT_HASH.test(sha) ? sha : undefined;
}

/** Records which commit a branch or tag points to (refs/<revision>). */
export function writeRef(folder: string, revision: string, sha: string): void {
  if (revision === sha) return;
  const ref = path.join(folder, 'refs', revision);
  // A revision like "refs/pr/1" nests folders.
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  writeFileDurably(ref, sha);
}

export function snapshotFolder(folder: string, sha: string): string {
  return path.join(folder, 'snapshots', sha);
}

export function blobFile(folder: string, etag: string): string {
  return path.join(folder, 'blobs', etag);
}

/** Whether a snapshot already holds `file` (a link whose blob is there). */
export function inSnapshot(snapshot: string, file: string): boolean {
  return fs.existsSync(path.join(snapshot, file));
}

/**
 * Puts `file` into the snapshot as a relative link to its blob, as huggingface_hub does; where
 * the file system has no symlinks (Windows without developer mode) the blob is copied instead.
 */
export function linkIntoSnapshot(snapshot: string, file: string, blob: string): void {
  const pointer = path.join(snapshot, file);
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  fs.rmSync(pointer, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(pointer), blob), pointer);
  } catch {
    fs.copyFileSync(blob, `${pointer}.tmp-${process.pid}`);
    fs.renameSync(`${pointer}.tmp-${process.pid}`, pointer);
  }
}

/** Relative paths of the files in a snapshot folder (those whose blob exists). */
export function snapshotFiles(snapshot: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, rel);
      else if (fs.existsSync(full) && fs.statSync(full).isFile()) out.push(rel);
    }
  };
  if (fs.existsSync(snapshot)) walk(snapshot, '');
  return out.sort();
}

/** A model found in the cache: its snapshot folder and the ONNX file chosen in it. */
export interface CachedModel {
  snapshot: string;
  commit: string;
  onnxFile: string;
}

/** The cached snapshot of `ref` and its ONNX file, or undefined when the revision is not cached. */
export function findCachedModel(ref: HubReference, settings: HubSettings): CachedModel | undefined {
  const folder = repoFolder(settings, ref.repo);
  const commit = cachedCommit(folder, ref.revision);
  if (!commit) return undefined;
  const snapshot = snapshotFolder(folder, commit);
  const files = snapshotFiles(snapshot);
  if (!files.some((f) => f.endsWith('.onnx')) || (ref.file && !files.includes(ref.file))) return undefined;
  return { snapshot, commit, onnxFile: chooseOnnxFile(files, `${ref.repo}@${commit} in ${snapshot}`, ref.file) };
}

