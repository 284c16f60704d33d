// Resizing as Pillow's Image.resize does it for 8-bit images, which is what Hugging Face image
// processors call (they hand uint8 pixels to PIL and read uint8 pixels back): a separable
// convolution whose filter widens with the downscale factor (so shrinking averages, i.e.
// antialiases), a horizontal pass then a vertical pass, each with Pillow's 22-bit fixed-point
// weights and rounding to 8 bits in between. Written from Pillow's published algorithm
// (libImaging/Resample.c); the filters are Pillow's resampling codes 1–5. Nearest (0) is not a
// convolution in Pillow and is not offered.

import { RawImage } from './decode';

interface Filter {
  support: number;
  weight(x: number): number;
}

function bicubic(x: number): number {
  // Pillow's a = -0.5 (Keys' cubic convolution).
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

/** Pillow's resampling filters by their Image.Resampling codes. */
export const RESAMPLING_FILTERS: Record<number, Filter> = {
  1: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) }, // LANCZOS
  2: { support: 1, weight: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) }, // BILINEAR
  3: { support: 2, weight: bicubic }, // BICUBIC
  4: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) }, // BOX
  5: { support: 1, weight: (x) => (Math.abs(x) < 1 ? sinc(x) * (0.54 + 0.46 * Math.cos(Math.PI * x)) : 0) }, // HAMMING
};

export const RESAMPLING_NAMES: Record<string, number> = { lanczos: 1, bilinear: 2, bicubic: 3, box: 4, hamming: 5 };

const PRECISION_BITS = 32 - 8 - 2;

interface Coefficients {
  /** First input pixel and tap count of each output pixel. */
  start: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `taps` per output pixel. */
  weights: Int32Array;
  taps: number;
}

/** The weights of one axis (Pillow's precompute_coeffs, then normalize_coeffs_8bpc). */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = filter.weight((x + xmin - center + 0.5) / filterScale);
      total += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x] / total : k[x];
      weights[xx * taps + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, weights, taps };
}

const CLIP = 2 ** (PRECISION_BITS + 8);

function clip8(v: number): number {
  if (v >= CLIP) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** One pass along x (`horizontal`) or y, with `c` the weights of that axis. */
function pass(img: RawImage, outWidth: number, outHeight: number, c: Coefficients, horizontal: boolean): RawImage {
  const { width, channels, data } = img;
  const out = new Uint8Array(outWidth * outHeight * channels);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const o = horizontal ? x : y;
      const first = c.start[o];
      const n = c.count[o];
      const base = o * c.taps;
      for (let ch = 0; ch < channels; ch++) {
        let sum = half;
        for (let t = 0; t < n; t++) {
          const src = horizontal ? (y * width + first + t) : ((first + t) * width + x);
          // Integer products below 2^31 (Pillow sums in a 32-bit int; weights are 22-bit).
          sum += data[src * channels + ch] * c.weights[base + t];
        }
        out[(y * outWidth + x) * channels + ch] = clip8(sum);
      }
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}

/** The image resized to width × height as Pillow's Image.resize with `resample` (1–5). */
export function resizeImage(img: RawImage, width: number, height: number, resample: number): RawImage {
  const filter = RESAMPLING_FILTERS[resample];
  if (!filter) throw new Error(`resampling filter ${resample} is not supported`);
  if (width === img.width && height === img.height) return img;
  let out = img;
  if (width !== img.width) out = pass(out, width, out.height, coefficients(img.width, width, filter), true);
  if (height !== img.height) out = pass(out, out.width, height, coefficients(img.height, height, filter), false);
  return out;
}

/** The pixels of the box [left, left + width) × [top, top + height) (an integer crop, as PIL's crop). */
export function cropImage(img: RawImage, left: number, top: number, width: number, height: number): RawImage {
  const { channels } = img;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * channels;
    data.set(img.data.subarray(from, from + width * channels), y * width * channels);
  }
  return { width, height, channels, data };
}

/** The image mirrored left to right. */
export function flipImage(img: RawImage): RawImage {
  const { width, height, channels } = img;
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = (y * width + x) * channels;
      const b = (y * width + width - 1 - x) * channels;
      for (let ch = 0; ch < channels; ch++) data[b + ch] = img.data[a + ch];
    }
  }
  return { ...img, data };
}
