// Models from the Hub, as from_pretrained fetches them: into huggingface_hub's cache layout,
// honouring HF_HOME, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE, resuming a broken download, and
// one-line errors naming the repository. A local server stands in for the Hub.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes } from '../../src/trainer/hub/progress';
import { tempDir } from '../helpers';
import { HubServer, commitId, etagOf, runCliAsync, startHub } from './hubServer';
import { BERT_ONNX, bertConfig, bertFiles, singleCommit } from './fixtureRepos';

const V1 = commitId('v1');
const V2 = commitId('v2');

let hub: HubServer;
before(async () => {
  hub = await startHub({
    'acme/tiny-bert': singleCommit(bertFiles()),
    // Two commits: main is the newer one, the tag v1 the older, with other label names.
    'acme/versioned': {
      refs: { main: V2, v1: V1 },
      commits: { [V1]: { ...bertFiles(), 'config.json': bertConfig({ id2label: { 0: 'old-neg', 1: 'old-pos' } }) }, [V2]: bertFiles() },
    },
    'acme/flaky': singleCommit(bertFiles()),
  });
});
after(() => hub.close());

function env(home: string, more: Record<string, string> = {}) {
  return { HF_HOME: home, HF_ENDPOINT: hub.endpoint, ...more };
}

const repoCache = (home: string, repo: string) => path.join(home, 'hub', `models--${repo.replace('/', '--')}`);

test('check hf://ORG/NAME downloads the model, config and tokenizer files into the cache layout of huggingface_hub', async () => {
  const home = tempDir('hf-home');
  const r = await runCliAsync(['check', 'hf://acme/tiny-bert'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const cache = repoCache(home, 'acme/tiny-bert');
  const sha = commitId('main');
  assert.equal(fs.readFileSync(path.join(cache, 'refs', 'main'), 'utf8'), sha);
  const snapshot = path.join(cache, 'snapshots', sha);
  assert.deepEqual(fs.readdirSync(snapshot).sort(), ['config.json', 'model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  // Snapshot entries are relative links to blobs named by ETag, so Python tools share them.
  const link = fs.readlinkSync(path.join(snapshot, 'model.onnx'));
  assert.equal(link, path.join('..', '..', 'blobs', etagOf(BERT_ONNX)));
  assert.ok(fs.readFileSync(path.join(cache, 'blobs', etagOf(BERT_ONNX))).equals(BERT_ONNX));
  assert.match(r.stderr, /Downloading model\.onnx/);
});

test('a second run with HF_HUB_OFFLINE=1 reads the cache and sends no request', async () => {
  const home = tempDir('hf-offline');
  assert.equal((await runCliAsync(['check', 'hf://acme/tiny-bert'], env(home))).code, 0);
  const before = hub.requests.length;
  const r = await runCliAsync(['check', 'hf://acme/tiny-bert'], env(home, { HF_HUB_OFFLINE: '1' }));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(hub.requests.length, before);
});

test('offline with nothing cached is refused with a message naming the repository', async () => {
  const r = await runCliAsync(['check', 'hf://acme/tiny-bert'], env(tempDir('hf-empty'), { HF_HUB_OFFLINE: '1' }));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: hf:\/\/acme\/tiny-bert is not in the cache .* HF_HUB_OFFLINE is set/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a revision resolves to its own commit, recorded under refs/', async () => {
  const home = tempDir('hf-rev');
  const r = await runCliAsync(['check', 'hf://acme/versioned@v1'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const cache = repoCache(home, 'acme/versioned');
  assert.equal(fs.readFileSync(path.join(cache, 'refs', 'v1'), 'utf8'), V1);
  assert.equal(fs.existsSync(path.join(cache, 'snapshots', V2)), false);
  const config = JSON.parse(fs.readFileSync(path.join(cache, 'snapshots', V1, 'config.json'), 'utf8'));
  assert.equal(config.id2label[0], 'old-neg');
});

test('a download cut off half-way resumes from the bytes already on disk', async () => {
  const home = tempDir('hf-resume');
  hub.dropOnce.add('model.onnx');
  const r = await runCliAsync(['check', 'hf://acme/flaky'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const ranges = hub.requests.filter((q) => q.startsWith('GET /acme/flaky/resolve/') && q.includes('model.onnx') && q.includes('bytes='));
  // The size probe asks for byte 0; the resumed request starts after the half that arrived.
  assert.ok(ranges.some((q) => new RegExp(`bytes=${BERT_ONNX.length >> 1}-`).test(q)), ranges.join('\n'));
  const blobs = path.join(repoCache(home, 'acme/flaky'), 'blobs');
  assert.ok(fs.readFileSync(path.join(blobs, etagOf(BERT_ONNX))).equals(BERT_ONNX));
  assert.deepEqual(fs.readdirSync(blobs).filter((f) => f.endsWith('.incomplete')), []);
});

test('a repository that does not exist is one line naming it', async () => {
  const r = await runCliAsync(['check', 'hf://acme/no-such-model'], env(tempDir('hf-missing')));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: hf:\/\/acme\/no-such-model: not found on http:\/\/127\.0\.0\.1:\d+ \(404: Repository not found\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a revision that does not exist names the repository and the revision', async () => {
  const r = await runCliAsync(['check', 'hf://acme/versioned@v9'], env(tempDir('hf-norev')));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /hf:\/\/acme\/versioned@v9: not found .*Invalid rev id: v9/);
});

test('a token the Hub refuses is one line naming the repository and HF_TOKEN', async () => {
  const guarded = await startHub({ 'acme/private': singleCommit(bertFiles()) }, { token: 'hf_good' });
  try {
    const r = await runCliAsync(['check', 'hf://acme/private'], { HF_HOME: tempDir('hf-401'), HF_ENDPOINT: guarded.endpoint, HF_TOKEN: 'hf_bad' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: hf:\/\/acme\/private: .* refused the token in HF_TOKEN \(401 Unauthorized/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const ok = await runCliAsync(['check', 'hf://acme/private'], { HF_HOME: tempDir('hf-200'), HF_ENDPOINT: guarded.endpoint, HF_TOKEN: 'hf_good' });
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await guarded.close();
  }
});

test('when the Hub cannot be reached, a cached snapshot is used with a warning', async () => {
  const home = tempDir('hf-unreachable');
  const gone = await startHub({ 'acme/tiny-bert': singleCommit(bertFiles()) });
  assert.equal((await runCliAsync(['check', 'hf://acme/tiny-bert'], { HF_HOME: home, HF_ENDPOINT: gone.endpoint })).code, 0);
  await gone.close();
  const r = await runCliAsync(['check', 'hf://acme/tiny-bert'], { HF_HOME: home, HF_ENDPOINT: gone.endpoint });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: hf:\/\/acme\/tiny-bert: cannot reach http:\/\/127\.0\.0\.1:\d+ .*using the cached snapshot [0-9a-f]{40}$/m);
  const fresh = await runCliAsync(['check', 'hf://acme/tiny-bert'], { HF_HOME: tempDir('hf-nothing'), HF_ENDPOINT: gone.endpoint });
  assert.equal(fresh.code, 1);
  assert.match(fresh.stderr, /^error: hf:\/\/acme\/tiny-bert: cannot reach .*; set HF_HUB_OFFLINE=1 to use the cache only$/m);
});

test('a partial file left by an earlier run is completed, not downloaded again', async () => {
  const home = tempDir('hf-partial');
  const blobs = path.join(repoCache(home, 'acme/flaky'), 'blobs');
  fs.mkdirSync(blobs, { recursive: true });
  const third = Math.floor(BERT_ONNX.length / 3);
  fs.writeFileSync(path.join(blobs, `${etagOf(BERT_ONNX)}.incomplete`), BERT_ONNX.subarray(0, third));
  const r = await runCliAsync(['check', 'hf://acme/flaky'], env(home));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`Downloading model.onnx (${formatBytes(BERT_ONNX.length)}, resuming at ${formatBytes(third)})`), r.stderr);
  assert.ok(fs.readFileSync(path.join(blobs, etagOf(BERT_ONNX))).equals(BERT_ONNX));
});

test('a blob another live process is downloading is waited for, not downloaded twice at once', async () => {
  const home = tempDir('hf-lock');
  const lock = path.join(home, 'hub', '.locks', 'models--acme--tiny-bert', `${etagOf(BERT_ONNX)}.trainer.lock`);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  // This test process stands for the other downloader: it is alive while it holds the lock.
  fs.writeFileSync(lock, `${process.pid}\n`);
  const asked = () => hub.requests.filter((q) => q === 'GET /acme/tiny-bert/resolve/' + commitId('main') + '/model.onnx').length;
  const before = asked();
  const run = runCliAsync(['check', 'hf://acme/tiny-bert'], env(home));
  await new Promise((ok) => setTimeout(ok, 2500));
  assert.equal(asked(), before, 'no download while the lock is held');
  fs.rmSync(lock);
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`Waiting for process ${process.pid}, which is downloading model\\.onnx`));
  assert.equal(asked(), before + 1);
});
