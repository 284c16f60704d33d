// Image preprocessing against values worked out by hand from the reference formulas: Pillow's
// resampling for 8-bit images (what Hugging Face image processors call), HF's get_resize_output_
// image_size / center_crop geometry, rescale in float64 stored as float32, normalize in float32,
// and channels-first pixel_values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawImage, convertChannels } from '../../../src/trainer/data/image/decode';
import { resizeImage } from '../../../src/trainer/data/image/resize';
import { ImageProcessing, preprocess, resizeAndCrop } from '../../../src/trainer/data/image/processor';

const gray = (width: number, height: number, values: number[]): RawImage => ({ width, height, channels: 1, data: Uint8Array.from(values) });

const VIT: ImageProcessing = {
  do_resize: false, resample: 2, do_center_crop: false, do_rescale: true, rescale_factor: 1 / 255,
  do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
};

test('bilinear upsampling matches Pillow: [0, 255] to four pixels is [0, 64, 191, 255]', () => {
  // Scale 1/2, support 1: output pixel 1 has its centre at 0.75 and taps 0 and 1 with triangle
  // weights 0.75 and 0.25 → 63.75 → 64; pixel 2 the mirror image → 191.25 → 191.
  assert.deepEqual([...resizeImage(gray(2, 1, [0, 255]), 4, 1, 2).data], [0, 64, 191, 255]);
});

test('bilinear downsampling averages like Pillow (the filter widens with the scale)', () => {
  // Scale 2 widens the triangle to support 2: output 0 (centre 1) weighs inputs 0, 1, 2 as
  // 0.75, 0.75, 0.25 (÷ 1.75) → 350 / 7 = 50; output 1 (centre 3) weighs 1, 2, 3 as 0.25, 0.75,
  // 0.75 → 1120 / 7 = 160. Plain two-tap interpolation would give 35 and 175.
  assert.deepEqual([...resizeImage(gray(4, 1, [0, 70, 140, 210]), 2, 1, 2).data], [50, 160]);
});

test('bicubic resampling uses Pillow\'s a = -0.5 kernel and clips to 0..255', () => {
  // Pixel 1: kernel(0.25) = 0.8671875 and kernel(0.75) = 0.2265625 → 255 · 0.2265625 / 1.09375 = 52.8 → 53;
  // the end pixels overshoot (kernel(1.25) = -0.0703125) and are clipped.
  assert.deepEqual([...resizeImage(gray(2, 1, [0, 255]), 4, 1, 3).data], [0, 53, 202, 255]);
});

test('resizing is a horizontal pass then a vertical pass, each rounded to 8 bits', () => {
  const img = gray(2, 2, [0, 255, 255, 0]);
  const both = resizeImage(img, 4, 4, 2);
  const rows = resizeImage(img, 4, 2, 2);
  assert.deepEqual([...rows.data], [0, 64, 191, 255, 255, 191, 64, 0]);
  assert.deepEqual([...both.data], [...resizeImage(rows, 4, 4, 2).data]);
  // Column 1 of the rows is [64, 191]: the vertical pass gives 64, 96 (0.75·64 + 0.25·191 = 95.75), 159 (159.25), 191.
  assert.deepEqual([0, 1, 2, 3].map((y) => both.data[y * 4 + 1]), [64, 96, 159, 191]);
});

test('rescale then normalize in float32, channels first (ViTImageProcessor\'s arithmetic)', () => {
  const rgb: RawImage = { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 128, 255, 10, 20, 30]) };
  const px = preprocess(rgb, VIT, 3);
  assert.ok(typeof px !== 'string');
  assert.deepEqual(px.dims, [3, 1, 2]);
  const f = Math.fround;
  // (x · 1/255 stored as float32 − 0.5) / 0.5, every step in float32.
  const norm = (b: number) => f(f(f(b * (1 / 255)) - 0.5) / 0.5);
  // Channel planes: R of both pixels, then G, then B.
  assert.deepEqual([...px.data], [0, 10, 128, 20, 255, 30].map(norm));
  assert.equal(px.data[0], -1);
  assert.equal(px.data[4], 1);
});

test('per-channel ImageNet mean and std (ConvNext) apply to their own channel', () => {
  const p = { ...VIT, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225] };
  const px = preprocess({ width: 1, height: 1, channels: 3, data: Uint8Array.from([200, 200, 200]) }, p, 3);
  assert.ok(typeof px !== 'string');
  const f = Math.fround;
  const x = f(200 / 255);
  assert.deepEqual([...px.data], [0, 1, 2].map((c) => f(f(x - f(p.image_mean[c])) / f(p.image_std[c]))));
});

test('without rescale or normalize the pixels stay 0..255 floats', () => {
  const px = preprocess(gray(2, 1, [7, 250]), { ...VIT, do_rescale: false, do_normalize: false }, 1);
  assert.ok(typeof px !== 'string');
  assert.deepEqual([...px.data], [7, 250]);
});

test('shortest_edge keeps the aspect ratio and floors the long side (get_resize_output_image_size)', () => {
  const img = gray(6, 4, Array.from({ length: 24 }, (_, i) => i * 10));
  const out = resizeAndCrop(img, { ...VIT, do_resize: true, size: { shortest_edge: 3 } });
  assert.ok(typeof out !== 'string');
  // short 4 → 3, long 6 → int(3 · 6 / 4) = 4.
  assert.deepEqual([out.width, out.height], [4, 3]);
});

test('ConvNext: below 384 the shortest edge goes to shortest_edge / crop_pct, then a centred square crop', () => {
  const img = gray(6, 4, Array.from({ length: 24 }, (_, i) => i * 10));
  // int(2 / 0.5) = 4 is already the short side: no resampling; the 2 × 2 crop starts at top (4−2)//2 = 1, left (6−2)//2 = 2.
  const out = resizeAndCrop(img, { ...VIT, do_resize: true, size: { shortest_edge: 2 }, crop_pct: 0.5 });
  assert.ok(typeof out !== 'string');
  assert.deepEqual([out.width, out.height], [2, 2]);
  assert.deepEqual([...out.data], [80, 90, 140, 150]);
});

test('center crop takes the floor-centred box, and names a too-small image', () => {
  const img = gray(5, 5, Array.from({ length: 25 }, (_, i) => i));
  const out = resizeAndCrop(img, { ...VIT, do_center_crop: true, crop_size: { height: 2, width: 2 } });
  assert.ok(typeof out !== 'string');
  assert.deepEqual([...out.data], [6, 7, 11, 12]);
  assert.match(resizeAndCrop(img, { ...VIT, do_center_crop: true, crop_size: { height: 8, width: 8 } }) as string, /smaller than crop_size 8×8/);
});

test('colour modes convert as PIL does: gray to RGB repeats, RGB to gray uses the 601-2 luma in fixed point', () => {
  const rgb: RawImage = { width: 3, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 10, 20, 30]) };
  // (R·19595 + G·38470 + B·7471 + 0x8000) >> 16: red 76, green 150, (10, 20, 30) 18.
  assert.deepEqual([...convertChannels(rgb, 1).data], [76, 150, 18]);
  assert.deepEqual([...convertChannels(gray(1, 1, [9]), 3).data], [9, 9, 9]);
});
