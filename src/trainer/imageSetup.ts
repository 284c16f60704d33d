// Decides whether a job's data is images, and sets their preprocessing up: the model folder's
// preprocessor_config.json overridden by data.image, the colour mode, the model input the
// pixels feed, and training augmentation. Images are decoded when records become examples;
// data sets whose decoded pixels would not fit comfortably in memory are rebuilt on each access
// instead of kept (the same choice `data.streaming` makes for large files).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrainerConfig } from './config/config';
import { ImageConfig, sizeProblem } from './config/imageFields';
import { Dataset, Example } from './data/dataset';
import { DataRecord } from './data/readers';
import { RecordSource, STREAM_THRESHOLD } from './data/source';
import { Augmentation, augmentImage } from './data/image/augment';
import { RawImage, decodeImageFile } from './data/image/decode';
import { streamed } from './data/image/folder';
import { ImageProcessing, ImageSize, PixelValues, preprocess } from './data/image/processor';
import { RESAMPLING_NAMES } from './data/image/resize';
import { Dim } from './onnx/graph';
import { ConfigError, DataError, UserError } from './errors';

import { PREPROCESSOR_FILE } from './runDirectory';

export { PREPROCESSOR_FILE };

export interface ImageSetup {
  /** The model input the pixels feed. */
  input: string;
  processing: ImageProcessing;
  channels: 1 | 3;
  /** Records of a source with their images decoded and preprocessed into `input`. */
  transform(source: RecordSource): (r: DataRecord) => DataRecord;
  /** The source as buildDataset should see it: streamed when its decoded pixels are large. */
  sized(source: RecordSource): RecordSource;
  /** Training augmentation of a data set built from `source`, when data.image asks for it. */
  augmented(data: Dataset, source: RecordSource): Dataset;
  /** preprocessor_config.json for every saved model. */
  files: Record<string, string>;
}

/** Whether records hold image paths to decode: an image column, and no column for the model input. */
export function holdsImages(config: TrainerConfig, first: DataRecord | undefined, input: string): boolean {
  return !!first && typeof first.values[config.data.image.column] === 'string' && !(input in first.values);
}

/** The model input images feed: data.image.input, else pixel_values, else the only float input. */
export function imageInputOf(config: TrainerConfig, inputs: readonly { name: string; type: number }[]): string | undefined {
  if (config.data.image.input) return config.data.image.input;
  if (inputs.some((i) => i.name === 'pixel_values')) return 'pixel_values';
  const floats = inputs.filter((i) => i.type === 1);
  return floats.length === 1 ? floats[0].name : undefined;
}

const PROCESSING_KEYS = ['do_resize', 'size', 'resample', 'crop_pct', 'do_center_crop', 'crop_size', 'do_rescale', 'rescale_factor', 'do_normalize', 'image_mean', 'image_std'] as const;

/** The keys of a model folder's preprocessor_config.json that preprocessing reads, checked. */
function readPreprocessorFile(file: string): Partial<ImageConfig> {
  let card: Record<string, unknown>;
  try {
    card = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(file, undefined, `not valid JSON: ${(e as Error).message}`);
  }
  const bad = (key: string, expected: string) => new ConfigError(file, key, undefined, `expected ${expected}, got ${JSON.stringify(card[key])}`);
  const out: Record<string, unknown> = {};
  for (const key of PROCESSING_KEYS) {
    const v = card[key];
    if (v === undefined || v === null) continue;
    if (key.startsWith('do_') && typeof v !== 'boolean') throw bad(key, 'true or false');
    if ((key === 'size' || key === 'crop_size') && sizeProblem(v, key === 'size')) throw bad(key, sizeProblem(v, key === 'size')!.replace(/^expected |, got.*$/g, ''));
    if ((key === 'image_mean' || key === 'image_std') && !(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number'))) throw bad(key, 'a list of numbers');
    if ((key === 'rescale_factor' || key === 'crop_pct' || key === 'resample') && typeof v !== 'number') throw bad(key, 'a number');
    out[key] = v;
  }
  return out as Partial<ImageConfig>;
}

function sizeOf(v: number | Record<string, unknown>): ImageSize {
  if (typeof v === 'number') return { height: v, width: v };
  return 'shortest_edge' in v ? { shortest_edge: v.shortest_edge as number } : { height: v.height as number, width: v.width as number };
}

/**
 * The preprocessing: data.image's keys over the model folder's preprocessor_config.json. With a
 * file, keys it lacks take ViTImageProcessor's defaults; without one, only what is asked for is done
 * (resize when a size is set, normalize when a mean is set), besides rescaling by 1/255.
 */
export function imageProcessing(config: TrainerConfig): ImageProcessing {
  const file = config.model.folder && path.join(config.model.folder, PREPROCESSOR_FILE);
  const fromFile = file && fs.existsSync(file) ? readPreprocessorFile(file) : undefined;
  const set = Object.fromEntries(Object.entries(config.data.image).filter(([, v]) => v !== undefined)) as Partial<ImageConfig>;
  const c = { ...fromFile, ...set };
  const hf = !!fromFile;
  const resample = typeof c.resample === 'string' ? RESAMPLING_NAMES[c.resample] : c.resample ?? 2;
  if (resample < 1 || resample > 5) throw new ConfigError(file!, 'resample', undefined, `Pillow filter ${resample} is not supported (1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming; not nearest)`);
  const doResize = c.do_resize ?? (hf || c.size !== undefined);
  const doCenterCrop = c.do_center_crop ?? c.crop_size !== undefined;
  return {
    do_resize: doResize,
    size: doResize ? sizeOf(c.size ?? 224) : undefined,
    resample,
    crop_pct: c.crop_pct,
    do_center_crop: doCenterCrop,
    crop_size: doCenterCrop ? sizeOf(c.crop_size ?? 224) as { height: number; width: number } : undefined,
    do_rescale: c.do_rescale ?? true,
    rescale_factor: c.rescale_factor ?? 1 / 255,
    do_normalize: c.do_normalize ?? (hf || c.image_mean !== undefined),
    image_mean: c.image_mean ?? [0.5, 0.5, 0.5],
    image_std: c.image_std ?? [0.5, 0.5, 0.5],
  };
}

/**
 * preprocessor_config.json as Hugging Face writes it for the preprocessing in effect: the model
 * folder's file (its processor type and other keys kept) with the keys this run used.
 */
function preprocessorCard(p: ImageProcessing, input: string, folderFile: string | undefined): string {
  const base = folderFile && fs.existsSync(folderFile) ? JSON.parse(fs.readFileSync(folderFile, 'utf8')) as Record<string, unknown> : {};
  const card: Record<string, unknown> = { image_processor_type: 'ViTImageProcessor', ...base, ...p };
  card.model_input_names ??= [input];
  for (const key of ['size', 'crop_size', 'crop_pct'] as const) if (p[key] === undefined) delete card[key];
  if (!p.do_center_crop && !('do_center_crop' in base)) delete card.do_center_crop;
  return JSON.stringify(card, null, 2) + '\n';
}

export interface ImageSetupInput {
  input: string;
  /** The model input's shape, when the model is known (its channel count decides the colour mode). */
  shape?: readonly Dim[];
  first: { source: RecordSource; record: DataRecord };
}

export function setupImages(config: TrainerConfig, at: ImageSetupInput): ImageSetup {
  const image = config.data.image;
  const processing = imageProcessing(config);
  const column = image.column;
  const pathOf = (source: RecordSource, r: DataRecord): string => {
    const v = r.values[column];
    if (typeof v !== 'string' || !v) throw new DataError(source.file, r.line, `column "${column}" must hold an image file path, got ${JSON.stringify(v)}`);
    return path.resolve(path.dirname(source.file), v);
  };
  // An image file's problems name the image, and the record that points at it when there is one.
  const decode = (source: RecordSource, r: DataRecord): { file: string; img: RawImage } => {
    const file = pathOf(source, r);
    try {
      return { file, img: decodeImageFile(file) };
    } catch (e) {
      if (e instanceof DataError && !fs.statSync(source.file).isDirectory()) throw new UserError(`${e.message} (${source.file}:${r.line}, column "${column}")`);
      throw e;
    }
  };
  const declared = at.shape?.length === 4 ? at.shape[1] : undefined;
  const first = decode(at.first.source, at.first.record);
  const channels: 1 | 3 = declared === 1 || declared === 3 ? declared
    : image.color_mode ? (image.color_mode === 'rgb' ? 3 : 1) : first.img.channels;
  const process = (file: string, made: PixelValues | string): PixelValues => {
    if (typeof made === 'string') throw new DataError(file, undefined, made);
    return made;
  };
  const reference = { file: first.file, dims: process(first.file, preprocess(first.img, processing, channels)).dims };
  const sameSize = (file: string, px: PixelValues) => {
    if (px.dims.join() !== reference.dims.join()) {
      const show = (d: number[]) => `${d[2]}×${d[1]}`;
      throw new DataError(file, undefined, `is ${show(px.dims)} after preprocessing, but ${reference.file} is ${show(reference.dims)}; ` +
        'images are stacked into batches, so set data.image.size (or do_resize) to give every image one size');
    }
  };
  const transform = (source: RecordSource) => (r: DataRecord): DataRecord => {
    const { file, img } = decode(source, r);
    const px = process(file, preprocess(img, processing, channels));
    sameSize(file, px);
    return { line: r.line, values: { ...r.values, [at.input]: px }, image: file };
  };
  const augmentation: Augmentation | undefined = image.random_resized_crop || image.horizontal_flip
    ? { randomResizedCrop: image.random_resized_crop, scale: image.crop_scale, ratio: image.crop_ratio, horizontalFlip: image.horizontal_flip, seed: config.training.seed }
    : undefined;
  return {
    input: at.input,
    processing,
    channels,
    transform,
    sized(source) {
      const bytes = source.count * reference.dims.reduce((a, b) => a * b, 1) * 4;
      const stream = config.data.streaming === true || (config.data.streaming === 'auto' && bytes > STREAM_THRESHOLD);
      return stream ? streamed(source) : source;
    },
    augmented(data, source) {
      if (!augmentation) return data;
      const augment = (e: Example, index: number, pass: number): Example => {
        const { file, img } = decode(source, source.read(index));
        const px = process(file, augmentImage(img, processing, channels, augmentation, pass, e.line));
        const features = new Map(e.features);
        features.set(at.input, { dims: px.dims, data: px.data });
        return { ...e, features };
      };
      return { ...data, augment };
    },
    files: { [PREPROCESSOR_FILE]: preprocessorCard(processing, at.input, config.model.folder && path.join(config.model.folder, PREPROCESSOR_FILE)) },
  };
}
