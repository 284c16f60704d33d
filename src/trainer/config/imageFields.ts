// `data.image`: how image data is read and preprocessed. The preprocessing keys have the names
// and meaning of Hugging Face's preprocessor_config.json; set here they override the model
// folder's file.

import { ConfigDocument, KeyPath } from './document';
import { Section, SectionValues, t, validateSection } from './fields';

export const IMAGE_FIELDS = {
  column: { type: t.string, default: 'image', doc: 'Data files: the column holding image file paths (PNG or JPEG, relative to the data file\'s folder). Records of an imagefolder folder have it too.' },
  input: { type: t.string, doc: 'The model input the preprocessed pixels feed (default: pixel_values, or the model\'s only float input; built-in models: model.input_name).' },
  color_mode: { type: t.enumOf('rgb', 'grayscale'), doc: 'Convert every image to RGB or grayscale (default: the channels the model input declares, else those of the first image).' },
  do_resize: { type: t.boolean, doc: 'Resize images (default: true with a preprocessor_config.json, else whether size is set).' },
  size: { type: t.union(t.integer(1), t.object), doc: 'Resize target: {height, width}, {shortest_edge} (aspect ratio kept) or one number for a square (default: preprocessor_config.json\'s, else 224 × 224 when resizing).' },
  resample: { type: t.union(t.integer(0), t.enumOf('lanczos', 'bilinear', 'bicubic', 'box', 'hamming')), doc: 'Pillow\'s resampling filter, by name or PIL code (2 bilinear, 3 bicubic…), as Pillow computes it for 8-bit images (default 2, bilinear).' },
  crop_pct: { type: t.number(0.01, 1), doc: 'ConvNext: with size {shortest_edge} below 384, resize the shortest edge to shortest_edge / crop_pct, then center-crop a square.' },
  do_center_crop: { type: t.boolean, doc: 'Center-crop to crop_size after resizing (default: whether crop_size is set).' },
  crop_size: { type: t.union(t.integer(1), t.object), doc: 'Center-crop size: {height, width} or one number for a square.' },
  do_rescale: { type: t.boolean, doc: 'Multiply the 0–255 pixel values by rescale_factor (default true).' },
  rescale_factor: { type: t.number(0), doc: 'Rescale factor (default 1/255).' },
  do_normalize: { type: t.boolean, doc: 'Subtract image_mean and divide by image_std per channel (default: true with a preprocessor_config.json, else whether image_mean is set).' },
  image_mean: { type: t.array(t.number()), doc: 'Per-channel means (one value for every channel, or one per channel; default [0.5, 0.5, 0.5]).' },
  image_std: { type: t.array(t.number(0)), doc: 'Per-channel standard deviations (default [0.5, 0.5, 0.5]).' },
  random_resized_crop: { type: t.boolean, default: false, doc: 'Training augmentation: torchvision\'s RandomResizedCrop to the processed size instead of resize and center crop; drawn per epoch from the seed, so a resumed run replays it.' },
  crop_scale: { type: t.array(t.number(0, 1)), default: [0.08, 1], doc: 'random_resized_crop: range of the crop\'s share of the image area.' },
  crop_ratio: { type: t.array(t.number(0)), default: [0.75, 4 / 3], doc: 'random_resized_crop: range of the crop\'s aspect ratio (width / height).' },
  horizontal_flip: { type: t.boolean, default: false, doc: 'Training augmentation: mirror each image left to right with probability 0.5, drawn per epoch from the seed.' },
} satisfies Section;

/**
 * data.image as validated (IMAGE_FIELDS' types; preprocessing keys unset where the config leaves
 * them out), with crop_scale and crop_ratio checked to be [low, high] pairs.
 */
export type ImageConfig = Omit<SectionValues<typeof IMAGE_FIELDS>, 'crop_scale' | 'crop_ratio'> & { crop_scale: [number, number]; crop_ratio: [number, number] };

/** What is wrong with a size value ({height, width}, {shortest_edge} or a number), if anything. */
export function sizeProblem(value: unknown, shortestEdge: boolean): string | undefined {
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (positive(value)) return undefined;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value).sort().join(',');
    const o = value as Record<string, unknown>;
    if (keys === 'height,width' && positive(o.height) && positive(o.width)) return undefined;
    if (shortestEdge && keys === 'shortest_edge' && positive(o.shortest_edge)) return undefined;
  }
  return `expected {height, width}${shortestEdge ? ', {shortest_edge}' : ''} or one number (positive integers), got ${JSON.stringify(value)}`;
}

/** data.image, validated: sizes, ranges of two numbers, positive standard deviations. */
export function parseImageConfig(doc: ConfigDocument, value: unknown): ImageConfig {
  const at: KeyPath = ['data', 'image'];
  const image = validateSection(doc, at, value, IMAGE_FIELDS);
  for (const key of ['size', 'crop_size'] as const) {
    const problem = image[key] !== undefined ? sizeProblem(image[key], key === 'size') : undefined;
    if (problem) throw doc.error([...at, key], problem);
  }
  const pair = (key: 'crop_scale' | 'crop_ratio'): [number, number] => {
    const r = image[key];
    if (r.length !== 2 || r[0] > r[1] || r[0] <= 0) throw doc.error([...at, key], `expected [low, high] with 0 < low ≤ high, got ${JSON.stringify(r)}`);
    return [r[0], r[1]];
  };
  const ranges = { crop_scale: pair('crop_scale'), crop_ratio: pair('crop_ratio') };
  if (image.image_std?.some((s) => s === 0)) throw doc.error([...at, 'image_std'], 'standard deviations must be greater than 0');
  if (typeof image.resample === 'number' && (image.resample < 1 || image.resample > 5)) {
    throw doc.error([...at, 'resample'], `expected a Pillow filter code from 1 to 5 (1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming), got ${image.resample}; nearest (0) is not supported`);
  }
  return { ...image, ...ranges };
}
