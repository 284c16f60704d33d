// Exports that onnxruntime cannot run either (test/fixtures/broken-exports, see its README) are a
// defect of the file: `check` and `train` refuse them with exit code 2 and one line naming the
// file and the node whose shapes do not fit, and write nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES, copyFixture, runCli, tempDir } from '../helpers';

const DIR = path.join(FIXTURES, 'broken-exports');
const CASES = fs.readdirSync(DIR).filter((d) => fs.existsSync(path.join(DIR, d, 'model.onnx')));

test('the broken exports are present', () => assert.ok(CASES.length >= 1));

for (const name of CASES) {
  test(`${name}: onnxruntime itself cannot run the export`, async () => {
    const rows = fs.readFileSync(path.join(DIR, name, 'train.jsonl'), 'utf8').trim().split('\n').slice(0, 3).map((l) => JSON.parse(l) as Record<string, number[]>);
    const feed = (key: string) => new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((r) => r[key].map(BigInt))), [rows.length, rows[0][key].length]);
    const session = await ort.InferenceSession.create(path.join(DIR, name, 'model.onnx'), { logSeverityLevel: 4 });
    await assert.rejects(session.run({ input_ids: feed('input_ids'), attention_mask: feed('attention_mask') }));
  });

  for (const command of ['check', 'train']) {
    test(`${name}: ${command} refuses it in one line naming the file and the node (exit 2)`, () => {
      const dir = tempDir(`broken-${name}-${command}`);
      copyFixture(path.join(DIR, name), dir);
      const before = fs.readdirSync(dir).sort();
      const r = runCli([command, path.join(dir, 'trainer.json')]);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].includes(path.join(dir, 'model.onnx')), lines[0]);
      assert.match(lines[0], / node "[^"]+": shapes \[.*\] and \[.*\] do not broadcast/);
      assert.deepEqual(fs.readdirSync(dir).sort(), before);
    });
  }
}
