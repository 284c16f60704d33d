// @huggingface/tokenizers is an ESM package with a CommonJS build; the bundles are CommonJS. This
// bundles the text module the way scripts/build.mjs bundles the CLI and runs it, so a change in
// how the package resolves shows up here rather than in a user's terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { ROOT, tempDir } from '../helpers';

test('an esbuild CommonJS bundle of src/trainer/text trains, loads and encodes', async () => {
  const out = path.join(tempDir('text-bundle'), 'text.js');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'src', 'trainer', 'text', 'index.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
  });
  const script = `
    const fs = require('node:fs'), path = require('node:path');
    const t = require(${JSON.stringify(out)});
    const file = path.join(path.dirname(${JSON.stringify(out)}), 'tokenizer.json');
    fs.writeFileSync(file, JSON.stringify(t.trainWordPiece(['hello world', 'hello there'], { vocabSize: 60, minFrequency: 1 })));
    process.stdout.write(JSON.stringify(t.loadTokenizer(file).encode('hello world', 'there').tokens));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['[CLS]', 'hello', 'world', '[SEP]', 'there', '[SEP]']);
});
