// A failure while running is one line: colour codes and binary bytes are dropped, a multi-line
// dump (onnxruntime's) is cut to its first line, and the full text goes to a log file that line names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { failureLine, printable } from '../../src/trainer/failures';

test('a multi-line error with colour codes becomes its first line and names a log file with the rest', () => {
  const err = new Error('\x1b[1;31m2026-12-02 [E:onnxruntime:, sequential_executor.cc:572] Non-zero status code returned while running Gemm node\x1b[m\n  at frame 1\n  at frame 2');
  const line = failureLine(err);
  const m = /^2026-12-02 \[E:onnxruntime:, sequential_executor\.cc:572\] Non-zero status code returned while running Gemm node \(details in (\S+)\)$/.exec(line);
  assert.ok(m, line);
  assert.match(fs.readFileSync(m[1], 'utf8'), /at frame 2/);
});

test('a file-system error is described in words, naming the path', () => {
  const err = Object.assign(new Error("EISDIR: illegal operation on a directory, read"), { code: 'EISDIR', syscall: 'read', path: '/data/train.jsonl' });
  assert.equal(failureLine(err), '/data/train.jsonl: cannot read: it is a folder');
});

test('binary bytes in a message are shown as question marks', () => {
  assert.equal(printable('bad byte \x00\x07\ufffd here'), 'bad byte ??? here');
});
