// Decoding PNG and JPEG files (pngjs, jpeg-js) into 8-bit pixels in the colour mode PIL opens them
// in, and refusing corrupt files with an error that names them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { decodeImageFile } from '../../../src/trainer/data/image/decode';
import { DataError } from '../../../src/trainer/errors';
import { tempDir } from '../../helpers';

function writePng(file: string, width: number, height: number, rgba: number[], colorType: 0 | 2 | 4 | 6) {
  const img = new PNG({ width, height });
  img.data = Buffer.from(rgba);
  fs.writeFileSync(file, PNG.sync.write(img, { colorType }));
}

test('a grayscale PNG decodes to one channel, an RGB or RGBA PNG to three (alpha dropped)', () => {
  const dir = tempDir('decode-png');
  writePng(path.join(dir, 'g.png'), 2, 1, [10, 10, 10, 255, 200, 200, 200, 255], 0);
  writePng(path.join(dir, 'c.png'), 2, 1, [1, 2, 3, 255, 4, 5, 6, 0], 6);
  const g = decodeImageFile(path.join(dir, 'g.png'));
  assert.deepEqual([g.width, g.height, g.channels, ...g.data], [2, 1, 1, 10, 200]);
  const c = decodeImageFile(path.join(dir, 'c.png'));
  assert.deepEqual([c.channels, ...c.data], [3, 1, 2, 3, 4, 5, 6]);
});

test('a 16-bit PNG is scaled to 8 bits', () => {
  const dir = tempDir('decode-png16');
  // pngjs packs 16-bit images from 16-bit samples (RGBA, platform byte order).
  const img = new PNG({ width: 1, height: 1, bitDepth: 16 });
  img.data = Buffer.from(Uint16Array.from([77 * 257, 77 * 257, 77 * 257, 65535]).buffer);
  fs.writeFileSync(path.join(dir, 'g16.png'), PNG.sync.write(img, { colorType: 0, bitDepth: 16 }));
  const g = decodeImageFile(path.join(dir, 'g16.png'));
  assert.deepEqual([g.channels, ...g.data], [1, 77]);
});

test('a colour JPEG decodes to RGB pixels close to the encoded ones', () => {
  const dir = tempDir('decode-jpeg');
  const rgba = Buffer.alloc(8 * 8 * 4);
  for (let i = 0; i < 64; i++) rgba.set([200, 40, 90, 255], 4 * i);
  fs.writeFileSync(path.join(dir, 'c.jpg'), jpeg.encode({ width: 8, height: 8, data: rgba }, 100).data);
  const c = decodeImageFile(path.join(dir, 'c.jpg'));
  assert.equal(c.channels, 3);
  // JPEG is lossy (YCbCr rounding): a flat colour at quality 100 comes back within a few levels.
  for (let i = 0; i < 64; i++) [200, 40, 90].forEach((v, k) => assert.ok(Math.abs(c.data[3 * i + k] - v) <= 3, `pixel ${i} channel ${k}: ${c.data[3 * i + k]}`));
});

test('a corrupt or truncated image is a DataError naming the file', () => {
  const dir = tempDir('decode-bad');
  writePng(path.join(dir, 'ok.png'), 4, 4, Array(64).fill(9), 0);
  const ok = fs.readFileSync(path.join(dir, 'ok.png'));
  fs.writeFileSync(path.join(dir, 'cut.png'), ok.subarray(0, ok.length - 20));
  fs.writeFileSync(path.join(dir, 'text.png'), 'not an image');
  fs.writeFileSync(path.join(dir, 'cut.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
  for (const name of ['cut.png', 'text.png', 'cut.jpg']) {
    const file = path.join(dir, name);
    assert.throws(() => decodeImageFile(file), (e: unknown) => e instanceof DataError && e.message.startsWith(`${file}: not a valid image`), name);
  }
  assert.throws(() => decodeImageFile(path.join(dir, 'gone.png')), /gone\.png: image file not found/);
});
