// Every bad input is refused the same way: exit code 2, one line that names the file (and the
// key or line), no stack trace, no colour codes, no bare errno, no binary echo — and nothing on
// disk changes. The cases come from the tables in corpus.ts (at least 130 of them).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { writeSafetensors } from '../../src/trainer/onnx/safetensors';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { FIXTURES, copyFixture, runCli, tempDir } from '../helpers';
import { CORPUS, RAW, baseConfig } from './corpus';

const ERRNO = /\b(ENOENT|EISDIR|ENOTDIR|EACCES|EPERM|EROFS|ENOSPC|ENAMETOOLONG|EEXIST|EMFILE|EIO|ELOOP)\b/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f\ufffd]/;

let fresh = '';
let trained = '';

before(() => {
  fresh = tempDir('corpus-fresh');
  copyFixture(path.join(FIXTURES, 'parity', 'mlp'), fresh);
  fs.rmSync(path.join(fresh, 'trainer.yaml'));
  trained = tempDir('corpus-trained');
  fs.cpSync(fresh, trained, { recursive: true });
  fs.writeFileSync(path.join(trained, 'trainer.yaml'), stringify(baseConfig()));
  const r = runCli(['train', path.join(trained, 'trainer.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  fs.rmSync(path.join(trained, 'trainer.yaml'));
  writeSafetensors(path.join(trained, 'other.safetensors'), new Map([['encoder.weight', fromNumbers(DataType.FLOAT, [2, 2], [1, 2, 3, 4])]]));
});

/** Every file and folder under `dir` with a hash of its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        out[rel] = 'folder';
        walk(p);
      } else out[rel] = createHash('sha1').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

test('the corpus holds at least 130 bad inputs, each with its own name', () => {
  assert.ok(CORPUS.length >= 130, `${CORPUS.length} cases`);
  assert.equal(new Set(CORPUS.map((c) => c.name)).size, CORPUS.length);
});

for (const c of CORPUS) {
  test(`refused cleanly: ${c.name}`, () => {
    const dir = tempDir('corpus');
    fs.cpSync(c.trained ? trained : fresh, dir, { recursive: true });
    const config = baseConfig();
    c.spoil(dir, config);
    if (!config[RAW]) fs.writeFileSync(path.join(dir, 'trainer.yaml'), stringify(config));
    const before = snapshot(dir);
    const r = runCli([c.command ?? 'train', ...(c.args ? c.args(dir) : [path.join(dir, 'trainer.yaml')])]);
    const message = r.stderr.trim();
    assert.equal(r.code, 2, `exit code 2 expected, got ${r.code}:\n${r.stderr}`);
    assert.equal(message.split('\n').length, 1, `one line expected:\n${message}`);
    assert.match(message, /^error: /);
    assert.ok(message.includes(c.names), `the message names ${c.names}: ${message}`);
    if (c.says) assert.match(message, c.says);
    assert.doesNotMatch(message, /\bat .+:\d+:\d+\)?$/m, 'no stack trace');
    assert.doesNotMatch(message, CONTROL, 'no colour codes or binary');
    assert.doesNotMatch(message, ERRNO, 'no bare errno code');
    assert.ok(message.length < 400, `a short message (${message.length} characters)`);
    assert.deepEqual(snapshot(dir), before, 'nothing on disk changed');
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
