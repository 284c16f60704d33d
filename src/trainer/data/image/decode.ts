// Decodes PNG and JPEG files into 8-bit pixels with pngjs and jpeg-js (pure JavaScript, nothing
// native). Images keep their colour mode as PIL opens them — grayscale ("L") or colour ("RGB") —
// because models differ: the digits CNN reads one channel, a ViT three. Alpha is dropped, as
// PIL's convert("RGB") drops it (no compositing onto a background). 16-bit PNGs are scaled to
// 8 bits. EXIF orientation is not applied (Hugging Face image processors do not apply it either).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { DataError } from '../../errors';

/** Pixels row by row, `channels` bytes each (1: grayscale, 3: RGB). */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Whether a file name is an image this project decodes. */
export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** Reads and decodes an image file; an unreadable or corrupt image is a DataError naming it. */
export function decodeImageFile(file: string): RawImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new DataError(file, undefined, fs.existsSync(file) ? 'cannot read the image file' : 'image file not found');
  }
  return decodeImage(bytes, file);
}

/** Decodes PNG or JPEG bytes (recognized by their signature, not the file name). */
export function decodeImage(bytes: Uint8Array, file: string): RawImage {
  const fail = (what: string) => new DataError(file, undefined, `not a valid image: ${what}`);
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    let png: ReturnType<typeof PNG.sync.read>;
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    } catch (e) {
      throw fail(`PNG decoding failed (${(e as Error).message})`);
    }
    // pngjs always hands back RGBA; the colour type says whether the file was grayscale.
    const gray = png.colorType === 0 || png.colorType === 4;
    return fromRgba(png.width, png.height, png.data, gray);
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 200, maxMemoryUsageInMB: 1024 });
    } catch (e) {
      throw fail(`JPEG decoding failed (${(e as Error).message})`);
    }
    return fromRgba(img.width, img.height, img.data, jpegComponents(bytes) === 1);
  }
  throw fail('expected a PNG or JPEG file');
}

function fromRgba(width: number, height: number, rgba: Uint8Array, gray: boolean): RawImage {
  if (!width || !height) throw new Error('an image without pixels');
  const n = width * height;
  const channels = gray ? 1 : 3;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    if (gray) data[i] = rgba[4 * i];
    else {
      data[3 * i] = rgba[4 * i];
      data[3 * i + 1] = rgba[4 * i + 1];
      data[3 * i + 2] = rgba[4 * i + 2];
    }
  }
  return { width, height, channels, data };
}

/** The component count of a JPEG's frame header (1: grayscale), found by walking its markers. */
function jpegComponents(bytes: Uint8Array): number {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return 3;
    const marker = bytes[i + 1];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame's component count.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 9];
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  return 3;
}

/** The image in the other colour mode: PIL's convert("L") (ITU-R 601-2 luma) or convert("RGB"). */
export function convertChannels(img: RawImage, channels: 1 | 3): RawImage {
  if (img.channels === channels) return img;
  const n = img.width * img.height;
  const data = new Uint8Array(n * channels);
  if (channels === 3) {
    for (let i = 0; i < n; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = img.data[i];
  } else {
    // PIL's fixed-point luma: L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
    for (let i = 0; i < n; i++) data[i] = (img.data[3 * i] * 19595 + img.data[3 * i + 1] * 38470 + img.data[3 * i + 2] * 7471 + 0x8000) >>> 16;
  }
  return { ...img, channels, data };
}
