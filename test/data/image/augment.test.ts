// Training augmentation: torchvision's RandomResizedCrop parameters and RandomHorizontalFlip,
// drawn from the counter-based generator keyed by (seed, epoch, record) — the same draws in any
// process, different ones in another epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Augmentation, augmentImage, cropBox } from '../../../src/trainer/data/image/augment';
import { RawImage } from '../../../src/trainer/data/image/decode';
import { ImageProcessing } from '../../../src/trainer/data/image/processor';
import { keyOf } from '../../../src/trainer/programs/random';

const AUG: Augmentation = { randomResizedCrop: true, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], horizontalFlip: true, seed: 42 };
const PLAIN: ImageProcessing = {
  do_resize: true, size: { height: 8, width: 8 }, resample: 2, do_center_crop: false, do_rescale: true, rescale_factor: 1 / 255,
  do_normalize: false, image_mean: [0.5], image_std: [0.5],
};

test('random resized crops stay inside the image, with area and aspect ratio in range', () => {
  for (let k = 0; k < 200; k++) {
    const b = cropBox(40, 30, AUG, keyOf(1, k));
    assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= 40 && b.top + b.height <= 30, JSON.stringify(b));
    // Rounding the sides moves area and ratio a little past the drawn values on a small image.
    assert.ok(b.width * b.height >= 0.08 * 1200 * 0.8 && b.width * b.height <= 1200, JSON.stringify(b));
    assert.ok(b.width / b.height >= 0.75 * 0.8 && b.width / b.height <= (4 / 3) * 1.25, JSON.stringify(b));
  }
});

test('when no random box fits, the crop is torchvision\'s central fallback', () => {
  // A 100 × 1 strip: no box of ratio 3/4..4/3 with 8%+ of the area fits; the fallback keeps the
  // height and takes width round(1 · 4/3) = 1, centred.
  assert.deepEqual(cropBox(100, 1, AUG, keyOf(3)), { top: 0, left: 49, width: 1, height: 1 });
});

test('the same (seed, epoch, record) gives the same augmented pixels; another epoch gives others', () => {
  const img: RawImage = { width: 16, height: 12, channels: 1, data: Uint8Array.from({ length: 192 }, (_, i) => (i * 37) % 256) };
  const a = augmentImage(img, PLAIN, 1, AUG, 0, 5);
  const b = augmentImage(img, PLAIN, 1, AUG, 0, 5);
  assert.ok(typeof a !== 'string' && typeof b !== 'string');
  assert.deepEqual(a.dims, [1, 8, 8]);
  assert.deepEqual([...a.data], [...b.data]);
  const epochs = Array.from({ length: 4 }, (_, e) => augmentImage(img, PLAIN, 1, AUG, e + 1, 5) as { data: Float32Array });
  assert.ok(epochs.some((x) => x.data.join() !== a.data.join()), 'other epochs draw other crops');
});

test('horizontal flip alone mirrors about half the images and leaves the rest as preprocessed', () => {
  const img: RawImage = { width: 8, height: 8, channels: 1, data: Uint8Array.from({ length: 64 }, (_, i) => i) };
  const flipOnly = { ...AUG, randomResizedCrop: false };
  let flipped = 0;
  for (let line = 1; line <= 100; line++) {
    const px = augmentImage(img, PLAIN, 1, flipOnly, 0, line) as { data: Float32Array };
    if (px.data[0] === Math.fround(7 / 255)) flipped++;
    else assert.equal(px.data[0], 0);
  }
  assert.ok(flipped > 30 && flipped < 70, `${flipped} of 100 flipped`);
});
