// Image folders as data, through the real CLI: an imagefolder folder trains exactly like the same
// pixels written as JSONL, an image-path column like the folder; class names come from the
// subfolders; bad images stop loading with exit 2 naming the file; augmentation replays on resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ImageProcessing, PixelValues, preprocess } from '../../../src/trainer/data/image/processor';
import { FIXTURES, readJson, runCli, tempDir, writeConfig } from '../../helpers';

const CLASSES = ['owl', 'cat', 'dog'];
const SIDE = 6;

/** Deterministic 8-bit pixels: a class-dependent stripe plus noise from a small LCG. */
function pixels(cls: number, i: number, side = SIDE): number[] {
  let s = (cls * 7919 + i * 104729 + 1) >>> 0;
  return Array.from({ length: side * side }, (_, k) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const stripe = (k % side) === cls * 2 ? 180 : 0;
    return Math.min(255, stripe + (s >>> 26));
  });
}

function writePng(file: string, gray: number[], side = SIDE) {
  const img = new PNG({ width: side, height: side });
  img.data = Buffer.from(gray.flatMap((v) => [v, v, v, 255]));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(img, { colorType: 0 }));
}

/** An imagefolder folder of 8 images per class, and its listing in the order Trainer reads it (sorted paths). */
function imageFolder(dir: string, name: string, perClass = 8): { rel: string; cls: string; gray: number[] }[] {
  const out = [];
  for (const [c, cls] of CLASSES.entries()) {
    for (let i = 0; i < perClass; i++) {
      const rel = `${name}/${cls}/${String(i).padStart(3, '0')}.png`;
      const gray = pixels(c, i);
      writePng(path.join(dir, rel), gray);
      out.push({ rel, cls, gray });
    }
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

const MODEL = { builtin: 'cnn', channels: [4], num_labels: 3 };

function train(dir: string, out: string, data: Record<string, unknown>, training: Record<string, unknown> = {}, args: string[] = []) {
  const r = runCli(['train', writeConfig(dir, {
    model: MODEL, data,
    training: { output_dir: out, num_train_epochs: 2, per_device_train_batch_size: 4, learning_rate: 0.01, logging_steps: 1, save_strategy: 'no', seed: 3, ...training },
  }, `${out}.yaml`), ...args]);
  return r;
}

function losses(dir: string, out: string) {
  return (readJson(path.join(dir, out, 'trainer_state.json')).log_history as Record<string, number>[]).filter((e) => 'loss' in e);
}

test('training from a PNG imagefolder equals training from the same pixels in JSONL, step for step', () => {
  const dir = tempDir('imagefolder-parity');
  const listing = imageFolder(dir, 'train');
  // The same pixels as JSONL: bytes / 255 (the default rescale), [1][6][6], labels by class name.
  const rows = (l: (typeof listing)[number]) => ({ pixel_values: [Array.from({ length: SIDE }, (_, y) => l.gray.slice(y * SIDE, y * SIDE + SIDE).map((v) => v / 255))], labels: l.cls });
  fs.writeFileSync(path.join(dir, 'pixels.jsonl'), listing.map((l) => JSON.stringify(rows(l))).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'paths.jsonl'), listing.map((l) => JSON.stringify({ image: l.rel, label: l.cls })).join('\n') + '\n');
  for (const [out, train_] of [['folder', 'train'], ['pixels', 'pixels.jsonl'], ['paths', 'paths.jsonl']]) {
    const r = train(dir, out, { train: train_ });
    assert.equal(r.code, 0, r.stderr);
  }
  const folder = losses(dir, 'folder');
  assert.equal(folder.length, 12);
  assert.deepEqual(losses(dir, 'pixels'), folder);
  assert.deepEqual(losses(dir, 'paths'), folder);
  // Class names: the subfolder names, sorted into ids, saved with the model.
  assert.deepEqual(readJson(path.join(dir, 'folder', 'config.json')).id2label, { 0: 'cat', 1: 'dog', 2: 'owl' });
  const card = readJson(path.join(dir, 'folder', 'preprocessor_config.json'));
  assert.equal(card.do_rescale, true);
  assert.equal(card.do_normalize, false);
});

test('a corrupt image in the folder stops loading with exit 2 and one line naming the file', () => {
  const dir = tempDir('imagefolder-bad');
  imageFolder(dir, 'train');
  const bad = path.join(dir, 'train', 'dog', '003.png');
  fs.writeFileSync(bad, fs.readFileSync(bad).subarray(0, 40));
  const r = train(dir, 'out', { train: 'train' });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes(`${bad}: not a valid image`), r.stderr);
  assert.ok(!fs.existsSync(path.join(dir, 'out')), 'nothing written');
});

test('an image-path column naming a missing file is an error naming the image, the data file and line', () => {
  const dir = tempDir('imagefolder-missing');
  imageFolder(dir, 'train');
  const rows = [['train/cat/000.png', 'cat'], ['train/dog/nope.png', 'dog'], ['train/owl/000.png', 'owl']];
  fs.writeFileSync(path.join(dir, 'paths.jsonl'), rows.map(([image, label]) => JSON.stringify({ image, label })).join('\n') + '\n');
  const r = train(dir, 'out', { train: 'paths.jsonl' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /nope\.png: image file not found \(.*paths\.jsonl:2, column "image"\)/);
});

test('images of different sizes are refused unless data.image.size resizes them to one', () => {
  const dir = tempDir('imagefolder-sizes');
  imageFolder(dir, 'train');
  const big = path.join(dir, 'train', 'owl', '005.png');
  writePng(big, pixels(0, 5, 9), 9);
  const r = train(dir, 'refused', { train: 'train' });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`${big}: is 9×9 after preprocessing`), r.stderr);
  assert.match(r.stderr, /set data\.image\.size/);
  const ok = train(dir, 'resized', { train: 'train', image: { size: { height: 6, width: 6 } } });
  assert.equal(ok.code, 0, ok.stderr);
});

test('an eval folder with a class the training folder lacks is an error naming it', () => {
  const dir = tempDir('imagefolder-classes');
  imageFolder(dir, 'train');
  imageFolder(dir, 'eval', 2);
  writePng(path.join(dir, 'eval', 'emu', '000.png'), pixels(1, 0));
  const r = train(dir, 'out', { train: 'train', eval: 'eval' }, { eval_strategy: 'epoch' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /label "emu": not one of the labels the model was trained on \(cat, dog, owl\)/);
});

test('augmented training (random resized crop, flips) resumed from a checkpoint logs exactly the uninterrupted run', () => {
  const dir = tempDir('imagefolder-augment');
  imageFolder(dir, 'train');
  const data = { train: 'train', image: { random_resized_crop: true, horizontal_flip: true, crop_scale: [0.5, 1] } };
  // 24 images, batch 4: 6 steps per epoch; the checkpoint at step 6 ends epoch 1.
  const training = { save_strategy: 'steps', save_steps: 6 };
  assert.equal(train(dir, 'full', data, training).code, 0);
  const resumed = path.join(dir, 'resumed');
  fs.cpSync(path.join(dir, 'full', 'checkpoint-6'), path.join(resumed, 'checkpoint-6'), { recursive: true });
  const r = train(dir, 'resumed', data, training, ['--resume', path.join(resumed, 'checkpoint-6')]);
  assert.equal(r.code, 0, r.stderr);
  const full = losses(dir, 'full');
  assert.equal(full.length, 12);
  assert.deepEqual(losses(dir, 'resumed'), full);
  assert.equal(train(dir, 'plain', { train: 'train' }).code, 0);
  assert.notDeepEqual(losses(dir, 'plain').map((e) => e.loss), full.map((e) => e.loss), 'augmentation changes what the model sees');
});

test('predicting on a folder of loose images writes each image\'s predicted class name', () => {
  const dir = tempDir('imagefolder-predict');
  imageFolder(dir, 'train');
  for (let i = 0; i < 3; i++) writePng(path.join(dir, 'new', `${i}.png`), pixels(i, 20));
  const r = train(dir, 'out', { train: 'train', test: 'new' });
  assert.equal(r.code, 0, r.stderr);
  const p = runCli(['predict', path.join(dir, 'out.yaml'), '--output', path.join(dir, 'predictions.jsonl')]);
  assert.equal(p.code, 0, p.stderr);
  const rows = fs.readFileSync(path.join(dir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  for (const row of rows) assert.ok(CLASSES.includes(row.predicted_label_name ?? row.predicted_label_names?.[0]), JSON.stringify(row));
});

test('a ViT model folder trains from an image folder preprocessed as its preprocessor_config.json says', () => {
  const dir = tempDir('imagefolder-vit');
  const model = path.join(dir, 'vit');
  fs.mkdirSync(model);
  fs.copyFileSync(path.join(FIXTURES, 'exports', 'vit_ts', 'model.onnx'), path.join(model, 'model.onnx'));
  const processor: ImageProcessing & { image_processor_type: string } = {
    image_processor_type: 'ViTImageProcessor', do_resize: true, size: { height: 32, width: 32 }, resample: 2, do_center_crop: false,
    do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
  };
  fs.writeFileSync(path.join(model, 'preprocessor_config.json'), JSON.stringify(processor));
  // Grayscale 9 × 9 PNGs: the model's pixel_values [batch, 3, 32, 32] asks for RGB, resized to 32 × 32.
  const listing: { rel: string; cls: string; gray: number[] }[] = [];
  for (const [c, cls] of CLASSES.entries()) {
    for (let i = 0; i < 3; i++) {
      const rel = `images/${cls}/${i}.png`;
      const gray = pixels(c, i, 9);
      writePng(path.join(dir, rel), gray, 9);
      listing.push({ rel, cls, gray });
    }
  }
  listing.sort((a, b) => (a.rel < b.rel ? -1 : 1));
  // The same images preprocessed here into JSONL: the folder run must read the processor file to match.
  const rows = listing.map((l) => {
    const px = preprocess({ width: 9, height: 9, channels: 1, data: Uint8Array.from(l.gray) }, processor, 3) as PixelValues;
    const plane = (c: number) => Array.from({ length: 32 }, (_, y) => Array.from(px.data.subarray(c * 1024 + y * 32, c * 1024 + y * 32 + 32)));
    return JSON.stringify({ pixel_values: [0, 1, 2].map(plane), labels: l.cls });
  });
  fs.writeFileSync(path.join(dir, 'pixels.jsonl'), rows.join('\n') + '\n');
  const run = (out: string, trainData: string) => {
    const r = runCli(['train', writeConfig(dir, {
      model: { path: 'vit', num_labels: 3 }, data: { train: trainData },
      training: { output_dir: out, max_steps: 3, per_device_train_batch_size: 4, learning_rate: 0.001, logging_steps: 1, save_strategy: 'no', seed: 3 },
    }, `${out}.yaml`)]);
    assert.equal(r.code, 0, r.stderr);
    return losses(dir, out);
  };
  const folder = run('folder', 'images');
  assert.equal(folder.length, 3);
  assert.deepEqual(run('pixels', 'pixels.jsonl'), folder);
  const saved = readJson(path.join(dir, 'folder', 'preprocessor_config.json'));
  assert.equal(saved.image_processor_type, 'ViTImageProcessor');
  assert.deepEqual(saved.size, { height: 32, width: 32 });
});

test('a streamed image folder (decoded again on each access) trains exactly like the loaded one, JPEGs included', () => {
  const dir = tempDir('imagefolder-stream');
  imageFolder(dir, 'train');
  // A colour JPEG among grayscale PNGs: color_mode rgb makes every image three channels.
  const rgba = Buffer.alloc(SIDE * SIDE * 4);
  for (let i = 0; i < SIDE * SIDE; i++) rgba.set([200, 40 + i, 90, 255], 4 * i);
  fs.writeFileSync(path.join(dir, 'train', 'cat', '008.jpg'), jpeg.encode({ width: SIDE, height: SIDE, data: rgba }, 95).data);
  const data = (streaming: boolean) => ({ train: 'train', streaming, image: { color_mode: 'rgb' } });
  assert.equal(train(dir, 'loaded', data(false)).code, 0);
  const r = train(dir, 'streamed', data(true));
  assert.equal(r.code, 0, r.stderr);
  const loaded = losses(dir, 'loaded');
  assert.equal(loaded.length, 14);
  assert.deepEqual(losses(dir, 'streamed'), loaded);
});
