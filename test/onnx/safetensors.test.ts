// safetensors files: header layout per the format's specification, and a lossless round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/trainer/onnx/safetensors';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { tempDir } from '../helpers';

test('tensors round-trip with names, types, shapes and metadata', () => {
  const file = path.join(tempDir('st'), 'x.safetensors');
  const tensors = new Map([
    ['encoder.weight', fromNumbers(DataType.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6.5])],
    ['ids', fromNumbers(DataType.INT64, [3], [7, -1, 9])],
    ['scalar', fromNumbers(DataType.DOUBLE, [], [Math.PI])],
  ]);
  writeSafetensors(file, tensors, { format: 'pt' });
  const { tensors: back, metadata } = readSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt' });
  for (const [k, t] of tensors) {
    const b = back.get(k)!;
    assert.equal(b.type, t.type);
    assert.deepEqual(b.dims, t.dims);
    assert.deepEqual(Array.from(b.data as ArrayLike<number | bigint>), Array.from(t.data as ArrayLike<number | bigint>));
  }
});

test('the header is little-endian length + JSON with dtype, shape and data_offsets; data starts 8-byte aligned', () => {
  const file = path.join(tempDir('st'), 'y.safetensors');
  writeSafetensors(file, new Map([['w', fromNumbers(DataType.FLOAT, [2], [1, 2])]]));
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  assert.deepEqual(header.w, { dtype: 'F32', shape: [2], data_offsets: [0, 8] });
  assert.deepEqual(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n, bytes.byteOffset + 16 + n))), [1, 2]);
});

test('a truncated file is reported, not misread', () => {
  const file = path.join(tempDir('st'), 'z.safetensors');
  writeSafetensors(file, new Map([['w', fromNumbers(DataType.FLOAT, [4], [1, 2, 3, 4])]]));
  fs.truncateSync(file, fs.statSync(file).size - 4);
  assert.throws(() => readSafetensors(file), /truncated/);
});

test('each tensor is read into memory of its own: the file is never held whole', () => {
  const file = path.join(tempDir('st'), 'own.safetensors');
  writeSafetensors(file, new Map([['a', fromNumbers(DataType.FLOAT, [3], [1, 2, 3])], ['b', fromNumbers(DataType.FLOAT, [2], [4, 5])]]));
  const { tensors } = readSafetensors(file);
  const [a, b] = [tensors.get('a')!.data, tensors.get('b')!.data];
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(a.buffer.byteLength, a.byteLength);
  assert.equal(b.buffer.byteLength, b.byteLength);
});

test('a tensor whose bytes disagree with its dtype and shape is refused, naming it', () => {
  const file = path.join(tempDir('st'), 'bad.safetensors');
  const head = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  fs.writeFileSync(file, Buffer.concat([len, head, Buffer.alloc(8)]));
  assert.throws(() => readSafetensors(file), /tensor "w" holds 8 bytes, expected 12/);
});
