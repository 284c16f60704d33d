// The config keys that name a Hub model: read without a download (the editor checks configs
// without network), filled from the cached snapshot once downloaded, and their errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../src/trainer/config/config';
import { ConfigDocument } from '../../src/trainer/config/document';
import { tempDir } from '../helpers';
import { bertConfig } from './fixtureRepos';
import { commitId } from './hubServer';

function parse(yaml: string) {
  return parseConfig(ConfigDocument.parse(path.join(tempDir('hub-config'), 'trainer.yaml'), yaml));
}

/** Runs `fn` with HF_HOME set to `home`, restoring the environment after. */
function withHome<T>(home: string, fn: () => T): T {
  const saved = process.env.HF_HOME;
  process.env.HF_HOME = home;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.HF_HOME;
    else process.env.HF_HOME = saved;
  }
}

test('a Hub model that is not downloaded yet still makes a valid config, with no local path', () => {
  const config = withHome(tempDir('hf-none'), () => parse('model:\n  path: hf://acme/tiny-bert@v1\n'));
  assert.deepEqual(config.model.hub, { repo: 'acme/tiny-bert', revision: 'v1', file: undefined });
  assert.equal(config.model.path, undefined);
});

test('a downloaded Hub model reads its snapshot: the ONNX file, config.json labels and tokenizer', () => {
  const home = tempDir('hf-cached');
  const repo = path.join(home, 'hub', 'models--acme--tiny-bert');
  const sha = commitId('main');
  const snapshot = path.join(repo, 'snapshots', sha);
  fs.mkdirSync(path.join(snapshot, 'onnx'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'refs'));
  fs.writeFileSync(path.join(repo, 'refs', 'main'), sha);
  fs.writeFileSync(path.join(snapshot, 'onnx', 'model.onnx'), '');
  fs.writeFileSync(path.join(snapshot, 'config.json'), bertConfig());
  fs.writeFileSync(path.join(snapshot, 'tokenizer.json'), '{}');
  const config = withHome(home, () => parse('model:\n  hub: acme/tiny-bert\n'));
  assert.equal(config.model.path, path.join(snapshot, 'onnx', 'model.onnx'));
  assert.equal(config.model.folder, snapshot);
  assert.equal(config.model.tokenizer, path.join(snapshot, 'tokenizer.json'));
  assert.deepEqual(config.model.id2label, ['negative', 'positive']);
});

test('path and hub together are refused at the model key', () => {
  assert.throws(() => parse('model:\n  path: model.onnx\n  hub: acme/tiny-bert\n'), /trainer\.yaml:1: model: set one of path and hub, not both/);
});

test('a malformed Hub name is refused at its key and line', () => {
  assert.throws(() => parse('model:\n  hub: acme\n'), /trainer\.yaml:2: model\.hub: "acme" is not a Hub model name/);
  assert.throws(() => parse('model:\n  path: hf://acme/m\n  revision: ../../etc\n'), /model\.path: "\.\.\/\.\.\/etc" is not a branch, tag or commit name/);
});
