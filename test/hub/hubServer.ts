// A stand-in for the Hugging Face Hub on 127.0.0.1, serving fixture repositories in the Hub's
// API shape: /api/models/ORG/NAME/revision/REV (sha and siblings) and
// /ORG/NAME/resolve/REV/FILE (ETag, X-Repo-Commit, Content-Length, Range requests), with the
// Hub's error answers (401 for a bad token, 404 with X-Error-Code). It records every request and
// can drop a connection half-way through a file once, to test resuming.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers';

/** A repository's revisions: each branch or tag maps to a commit, each commit to its files. */
export interface FixtureRepo {
  refs: Record<string, string>;
  commits: Record<string, Record<string, Buffer>>;
}

export interface HubServer {
  endpoint: string;
  /** "METHOD path [Range]" of every request, in order. */
  requests: string[];
  /** Files (repository paths) whose next full download is cut off half-way. */
  dropOnce: Set<string>;
  close(): Promise<void>;
}

/** A fake 40-hex commit hash derived from a label. */
export function commitId(label: string): string {
  return crypto.createHash('sha1').update(label).digest('hex');
}

/** The ETag the server gives a file: its SHA-256, as the Hub does for LFS files. */
export function etagOf(content: Buffer): string {
  return crypto.createHash('sha256').update(content).digest('hex');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Starts the server; `token`, when given, is the only one it accepts (and it then requires one). */
export async function startHub(repos: Record<string, FixtureRepo>, opts: { token?: string } = {}): Promise<HubServer> {
  const requests: string[] = [];
  const dropOnce = new Set<string>();
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}${range ? ` ${range}` : ''}`);
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      return sendJson(res, 401, { error: 'Invalid credentials in Authorization header' }, { 'X-Error-Code': 'InvalidCredentials' });
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const [repoName, rev] = (api ?? resolve ?? []).slice(1, 3).map((s) => decodeURIComponent(s ?? ''));
    const repo = repos[repoName];
    if (!repo) return sendJson(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    const sha = repo.refs[rev] ?? (repo.commits[rev] ? rev : undefined);
    if (!sha) return sendJson(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    const files = repo.commits[sha];
    if (api) {
      return sendJson(res, 200, { _id: sha.slice(0, 24), id: repoName, sha, private: false, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
    }
    const file = decodeURIComponent(resolve![3]);
    const content = files[file];
    if (!content) return sendJson(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const headers = { ETag: `"${etagOf(content)}"`, 'X-Repo-Commit': sha, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    const m = range && /^bytes=(\d+)-(\d*)$/.exec(range);
    if (m) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), content.length - 1) : content.length - 1;
      res.writeHead(206, { ...headers, 'Content-Length': String(end - start + 1), 'Content-Range': `bytes ${start}-${end}/${content.length}` });
      return res.end(content.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(content.length) });
    if (dropOnce.delete(file)) {
      // Half the bytes, then the connection goes away, as a flaky network would do it.
      res.write(content.subarray(0, content.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(content);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    dropOnce,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

/**
 * Runs the built CLI in a child process without blocking this one (the server lives here), with
 * the Hub environment replaced by `env`.
 */
export function runCliAsync(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const k of ['HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_ENDPOINT', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HF_HUB_OFFLINE']) delete base[k];
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'onnx-trainer.js'), ...args], { cwd: ROOT, env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((ok) => child.on('close', (code) => ok({ code: code ?? -1, stdout, stderr })));
}
