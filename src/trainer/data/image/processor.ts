// Image preprocessing with the semantics of Hugging Face's image processors (ViTImageProcessor,
// ConvNextImageProcessor, CLIP-style center crops): resize the 8-bit image (Pillow's filters,
// resize.ts), center-crop, rescale, normalize, then lay the channels first. The arithmetic is
// theirs: rescaling multiplies in float64 and stores float32; normalizing subtracts and divides
// in float32 (numpy on float32 arrays), which Math.fround reproduces exactly.

import { RawImage, convertChannels } from './decode';
import { cropImage, resizeImage } from './resize';

export type ImageSize = { height: number; width: number } | { shortest_edge: number };

/** What preprocessor_config.json says (the keys Hugging Face's image processors read), resolved. */
export interface ImageProcessing {
  do_resize: boolean;
  size?: ImageSize;
  /** Pillow's resampling code (2: bilinear, 3: bicubic…). */
  resample: number;
  /** ConvNext: resize the shortest edge to shortest_edge / crop_pct, then center-crop (below 384). */
  crop_pct?: number;
  do_center_crop: boolean;
  crop_size?: { height: number; width: number };
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: number[];
  image_std: number[];
}

/** A preprocessed sample: float32 pixels, channels first ([channels, height, width]). */
export class PixelValues {
  constructor(readonly dims: number[], readonly data: Float32Array) {}
}

/** Hugging Face's get_resize_output_image_size for a shortest edge (aspect ratio kept, long side floored). */
function shortestEdgeSize(img: RawImage, edge: number): { height: number; width: number } {
  const { width, height } = img;
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((edge * long) / short);
  return width <= height ? { height: newLong, width: edge } : { height: edge, width: newLong };
}

/** Hugging Face's center_crop (top and left floored); an image smaller than the crop is an error. */
export function centerCrop(img: RawImage, height: number, width: number): RawImage | undefined {
  if (img.height < height || img.width < width) return undefined;
  return cropImage(img, Math.floor((img.width - width) / 2), Math.floor((img.height - height) / 2), width, height);
}

/** The size every processed image has (undefined when the images keep their own size). */
export function outputSize(p: ImageProcessing): { height: number; width: number } | undefined {
  if (p.do_center_crop && p.crop_size) return p.crop_size;
  if (!p.do_resize || !p.size) return undefined;
  if ('height' in p.size) return p.size;
  // ConvNext crops to a square below 384 and resizes to one above; a plain shortest edge keeps the ratio.
  if (p.crop_pct !== undefined) return { height: p.size.shortest_edge, width: p.size.shortest_edge };
  return undefined;
}

/** Resize and center-crop as the image processor does (uint8 in, uint8 out). */
export function resizeAndCrop(img: RawImage, p: ImageProcessing): RawImage | string {
  let out = img;
  if (p.do_resize && p.size) {
    if ('height' in p.size) out = resizeImage(out, p.size.width, p.size.height, p.resample);
    else if (p.crop_pct !== undefined) {
      // ConvNextImageProcessor.resize.
      const edge = p.size.shortest_edge;
      if (edge < 384) {
        const to = shortestEdgeSize(out, Math.trunc(edge / p.crop_pct));
        out = centerCrop(resizeImage(out, to.width, to.height, p.resample), edge, edge)!;
      } else out = resizeImage(out, edge, edge, p.resample);
    } else {
      const to = shortestEdgeSize(out, p.size.shortest_edge);
      out = resizeImage(out, to.width, to.height, p.resample);
    }
  }
  if (p.do_center_crop && p.crop_size) {
    const cropped = centerCrop(out, p.crop_size.height, p.crop_size.width);
    if (!cropped) return `is ${out.width}×${out.height} before the center crop, smaller than crop_size ${p.crop_size.width}×${p.crop_size.height}`;
    out = cropped;
  }
  return out;
}

/** Rescale and normalize 8-bit pixels into float32, channels first. */
export function toPixelValues(img: RawImage, p: ImageProcessing): PixelValues {
  const { width, height, channels } = img;
  const plane = width * height;
  const out = new Float32Array(plane * channels);
  const f = Math.fround;
  for (let c = 0; c < channels; c++) {
    // Hugging Face repeats a single mean / std over the channels.
    const mean = f(p.image_mean[p.image_mean.length === 1 ? 0 : c]);
    const std = f(p.image_std[p.image_std.length === 1 ? 0 : c]);
    for (let i = 0; i < plane; i++) {
      let v = img.data[i * channels + c];
      if (p.do_rescale) v = f(v * p.rescale_factor);
      if (p.do_normalize) v = f(f(v - mean) / std);
      out[c * plane + i] = v;
    }
  }
  return new PixelValues([channels, height, width], out);
}

/** The whole image processor: colour mode, resize, crop, rescale, normalize. */
export function preprocess(img: RawImage, p: ImageProcessing, channels: 1 | 3): PixelValues | string {
  const sized = resizeAndCrop(convertChannels(img, channels), p);
  return typeof sized === 'string' ? sized : toPixelValues(sized, p);
}
