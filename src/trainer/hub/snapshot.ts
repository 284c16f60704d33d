// Brings a Hub model into the local cache as from_pretrained does: resolve the revision to a
// commit, choose the float32 ONNX file, and fetch it with its external data and its config and
// tokenizer files — not the whole repository (transformers.js repositories hold a dozen
// quantized variants). Offline, or when the Hub cannot be reached, the cache answers alone.

import { modelInfo } from '@huggingface/hub';
import { UserError } from '../errors';
import { CachedModel, findCachedModel, repoFolder, snapshotFolder, writeRef } from './cache';
import { fetchFile } from './fileDownload';
import { hubFailure, isNetworkFailure } from './failures';
import { chooseOnnxFile, filesToFetch } from './modelFiles';
import { DownloadProgress, NO_PROGRESS } from './progress';
import { HubReference, formatHubReference } from './reference';
import { HubSettings, hubSettings } from './settings';

export interface DownloadOptions {
  settings?: HubSettings;
  progress?: DownloadProgress;
  /** Told when the cache stands in for an unreachable Hub. */
  warn?: (message: string) => void;
}

/** Downloads (or finds in the cache) the model `ref` names; returns its snapshot folder and ONNX file. */
export async function downloadHubModel(ref: HubReference, opts: DownloadOptions = {}): Promise<CachedModel> {
  const settings = opts.settings ?? hubSettings();
  const folder = repoFolder(settings, ref.repo);
  const where = formatHubReference(ref);
  if (settings.offline) {
    const cached = findCachedModel(ref, settings);
    if (!cached) throw new UserError(`${where} is not in the cache (${folder}) and HF_HUB_OFFLINE is set; download it once with network access`);
    return cached;
  }
  let info: { sha?: string; filePaths?: string[] };
  try {
    info = await modelInfo({ name: ref.repo, revision: ref.revision, hubUrl: settings.endpoint, accessToken: settings.token, additionalFields: ['sha', 'filePaths'] });
  } catch (e) {
    const failure = hubFailure(e, where, settings);
    const cached = isNetworkFailure(e) ? findCachedModel(ref, settings) : undefined;
    if (!cached) throw failure;
    opts.warn?.(`${failure.message.replace(/; set HF_HUB_OFFLINE.*$/, '')}; using the cached snapshot ${cached.commit}`);
    return cached;
  }
  const commit = info.sha;
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) throw new Error(`${where}: ${settings.endpoint} did not say which commit ${ref.revision} is`);
  const files = info.filePaths ?? [];
  const onnxFile = chooseOnnxFile(files, where, ref.file);
  writeRef(folder, ref.revision, commit);
  const target = { repo: ref.repo, commit, folder, where, settings, progress: opts.progress ?? NO_PROGRESS };
  for (const file of filesToFetch(onnxFile, files)) await fetchFile(target, file);
  return { snapshot: snapshotFolder(folder, commit), commit, onnxFile };
}
