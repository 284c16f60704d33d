// Download progress: a bar redrawn in place on a terminal, one line per file elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downloadProgress, formatBytes } from '../../src/trainer/hub/progress';

test('on a terminal the bar is redrawn in place and ends at 100% with a newline', () => {
  const out: string[] = [];
  const p = downloadProgress((s) => out.push(s), true);
  p.start('onnx/model.onnx', 2_000_000, 0);
  p.advance(1_000_000);
  p.advance(1_000_000);
  p.done();
  assert.ok(out.slice(0, -1).every((s) => s.startsWith('\ronnx/model.onnx: ')), out.join('|'));
  assert.match(out[0], /:\s+0%\|/);
  assert.match(out[out.length - 2], /: 100%\|█+\| 2\.0MB\/2\.0MB/);
  assert.equal(out[out.length - 1], '\n');
});

test('elsewhere each file is one line with its size, and says where a resumed download starts', () => {
  const out: string[] = [];
  const p = downloadProgress((s) => out.push(s), false);
  p.start('model.onnx', 5_300_000, 1_200_000);
  p.advance(4_100_000);
  p.done();
  assert.deepEqual(out, ['Downloading model.onnx (5.3MB, resuming at 1.2MB)\n']);
});

test('sizes are printed in decimal units, as huggingface_hub prints them', () => {
  assert.deepEqual([999, 1000, 64_094, 2_500_000_000].map(formatBytes), ['999B', '1.0kB', '64.1kB', '2.5GB']);
});
