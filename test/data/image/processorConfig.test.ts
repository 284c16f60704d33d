// Which preprocessing a run uses: the model folder's preprocessor_config.json, data.image keys of
// the same names over it, and what is done when there is no file at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/trainer/config/config';
import { imageProcessing } from '../../../src/trainer/imageSetup';
import { FIXTURES, tempDir } from '../../helpers';

function configWith(processor: Record<string, unknown> | undefined, image: Record<string, unknown> = {}) {
  const dir = tempDir('processor-config');
  fs.mkdirSync(path.join(dir, 'vit'));
  fs.copyFileSync(path.join(FIXTURES, 'exports', 'vit_ts', 'model.onnx'), path.join(dir, 'vit', 'model.onnx'));
  if (processor) fs.writeFileSync(path.join(dir, 'vit', 'preprocessor_config.json'), JSON.stringify(processor));
  fs.writeFileSync(path.join(dir, 'trainer.yaml'), stringify({ model: { path: 'vit', num_labels: 3 }, data: { train: 'images', image } }));
  return loadConfig(path.join(dir, 'trainer.yaml'));
}

test('preprocessor_config.json decides, with ViTImageProcessor\'s defaults for keys it leaves out', () => {
  const p = imageProcessing(configWith({ size: { shortest_edge: 40 }, crop_pct: 0.875, resample: 3, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225] }));
  assert.deepEqual(p, {
    do_resize: true, size: { shortest_edge: 40 }, resample: 3, crop_pct: 0.875, do_center_crop: false, crop_size: undefined,
    do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225],
  });
});

test('data.image keys override the file\'s, by the same names', () => {
  const p = imageProcessing(configWith({ size: { height: 224, width: 224 }, do_normalize: true }, { size: 32, resample: 'bicubic', do_normalize: false }));
  assert.deepEqual([p.size, p.resample, p.do_normalize], [{ height: 32, width: 32 }, 3, false]);
});

test('without a preprocessor_config.json only rescaling is done, unless data.image asks for more', () => {
  const bare = imageProcessing(configWith(undefined));
  assert.deepEqual([bare.do_resize, bare.do_center_crop, bare.do_rescale, bare.do_normalize], [false, false, true, false]);
  const asked = imageProcessing(configWith(undefined, { size: { shortest_edge: 8 }, crop_size: 6, image_mean: [0.5] }));
  assert.deepEqual([asked.size, asked.crop_size, asked.do_normalize], [{ shortest_edge: 8 }, { height: 6, width: 6 }, true]);
});

test('a bad value in preprocessor_config.json is an error naming the file and the key', () => {
  const config = configWith({ size: { longest_edge: 100 } });
  assert.throws(() => imageProcessing(config), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /preprocessor_config\.json: size: expected \{height, width\}, \{shortest_edge\} or one number/.test(e.message));
  assert.throws(() => imageProcessing(configWith({ image_mean: 'imagenet' })), /preprocessor_config\.json: image_mean: expected a list of numbers/);
  assert.throws(() => imageProcessing(configWith({ resample: 0 })), /preprocessor_config\.json: resample: Pillow filter 0 is not supported/);
});

test('data.image refuses sizes, ranges and filters it cannot use, naming the key', () => {
  assert.throws(() => configWith(undefined, { size: { longest_edge: 5 } }), /data\.image\.size: expected \{height, width\}, \{shortest_edge\} or one number/);
  assert.throws(() => configWith(undefined, { crop_scale: [0.9, 0.2] }), /data\.image\.crop_scale: expected \[low, high\]/);
  assert.throws(() => configWith(undefined, { resample: 0 }), /data\.image\.resample: .*nearest \(0\) is not supported/);
  assert.throws(() => configWith(undefined, { image_std: [0] }), /data\.image\.image_std: standard deviations must be greater than 0/);
});
