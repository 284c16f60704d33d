// Names a model on the Hugging Face Hub the way huggingface_hub's file system does:
// `hf://ORG/NAME[@revision][/path/in/repo.onnx]`, or the config keys model.hub (+ revision,
// file_name). Pure parsing, so that the config check and the downloader agree on one reading.

/** A model repository on the Hub, a revision of it, and optionally the ONNX file to train. */
export interface HubReference {
  /** "ORG/NAME". */
  repo: string;
  /** Branch, tag or commit hash; "main" when not given, as from_pretrained does. */
  revision: string;
  /** Path of the ONNX file inside the repository, when the config names one. */
  file?: string;
}

export const HUB_SCHEME = 'hf://';
export const DEFAULT_REVISION = 'main';

/** Thrown for a malformed reference; the caller turns it into a config error at its key. */
export class HubReferenceError extends Error {}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether a model.path value names a Hub repository rather than a local file. */
export function isHubPath(value: string): boolean {
  return value.startsWith(HUB_SCHEME);
}

/**
 * Parses `ORG/NAME[@revision][/file]` (the part after hf://). The revision ends at the next "/"
 * that follows the repository name; branch names with slashes must be given as model.revision.
 */
export function parseHubReference(text: string, defaults: { revision?: string; file?: string } = {}): HubReference {
  const body = text.startsWith(HUB_SCHEME) ? text.slice(HUB_SCHEME.length) : text;
  const parts = body.split('/');
  // A repository is ORG/NAME; anything after the name (and its @revision) is a file in it.
  const [org, nameRev = '', ...rest] = parts;
  const [name, revision, ...extraAt] = nameRev.split('@');
  if (!org || !name || extraAt.length || !SEGMENT.test(org) || !SEGMENT.test(name)) {
    throw new HubReferenceError(`"${text}" is not a Hub model name; expected ${HUB_SCHEME}ORG/NAME[@revision] (for example ${HUB_SCHEME}google-bert/bert-base-uncased@main)`);
  }
  if (revision === '') throw new HubReferenceError(`"${text}" has an empty revision after "@"`);
  const rev = revision ?? defaults.revision ?? DEFAULT_REVISION;
  // A revision becomes a path under refs/ in the cache, as in huggingface_hub: it must stay there.
  if (!isRelativePath(rev)) throw new HubReferenceError(`"${rev}" is not a branch, tag or commit name`);
  const file = rest.length ? rest.join('/') : defaults.file;
  if (file !== undefined && !isRelativePath(file)) {
    throw new HubReferenceError(`"${file}" is not a file path inside the repository`);
  }
  return { repo: `${org}/${name}`, revision: rev, file };
}

/** A path of plain segments ("a/b.onnx"): nothing empty, no "." or "..", no backslash. */
export function isRelativePath(p: string): boolean {
  return p !== '' && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** The reference written back as one hf:// string, for messages. */
export function formatHubReference(ref: HubReference, file = ref.file): string {
  const rev = ref.revision === DEFAULT_REVISION ? '' : `@${ref.revision}`;
  return `${HUB_SCHEME}${ref.repo}${rev}${file ? `/${file}` : ''}`;
}
