// Training-time augmentation as Hugging Face's image-classification example composes it from
// torchvision: RandomResizedCrop (scale and ratio drawn as torchvision's get_params draws them,
// then crop and resize to the processed size) and RandomHorizontalFlip (p = 0.5), before rescale
// and normalize. The draws come from the counter-based generator keyed by (seed, epoch, record),
// so an epoch's crops and flips are the same in a resumed run as in the uninterrupted one.

import { keyOf, uniform } from '../../programs/random';
import { RawImage, convertChannels } from './decode';
import { ImageProcessing, PixelValues, outputSize, resizeAndCrop, toPixelValues } from './processor';
import { cropImage, flipImage, resizeImage } from './resize';

export interface Augmentation {
  randomResizedCrop: boolean;
  /** Range of the crop's share of the image area (torchvision: 0.08 to 1). */
  scale: [number, number];
  /** Range of the crop's aspect ratio, width / height (torchvision: 3/4 to 4/3). */
  ratio: [number, number];
  horizontalFlip: boolean;
  seed: number;
}

/** Separates the augmentation's draws from the collator masking's, which share (seed, pass, line). */
const SALT = 0x696d6167;

/** torchvision's RandomResizedCrop.get_params: ten tries at a random box, else the central crop. */
export function cropBox(width: number, height: number, a: Augmentation, key: number): { left: number; top: number; width: number; height: number } {
  const area = width * height;
  const [r0, r1] = [Math.log(a.ratio[0]), Math.log(a.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const u = (k: number) => uniform(key, 4 * attempt + k);
    const target = area * (a.scale[0] + (a.scale[1] - a.scale[0]) * u(0));
    const aspect = Math.exp(r0 + (r1 - r0) * u(1));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: Math.floor(u(2) * (height - h + 1)), left: Math.floor(u(3) * (width - w + 1)), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let [w, h] = [width, height];
  if (inRatio < Math.min(...a.ratio)) h = Math.round(w / Math.min(...a.ratio));
  else if (inRatio > Math.max(...a.ratio)) w = Math.round(h * Math.max(...a.ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), width: w, height: h };
}

/** The augmented, preprocessed pixels of one training image in epoch `pass`. */
export function augmentImage(img: RawImage, p: ImageProcessing, channels: 1 | 3, a: Augmentation, pass: number, line: number): PixelValues | string {
  const key = keyOf(a.seed, pass, line, SALT);
  let out = convertChannels(img, channels);
  if (a.randomResizedCrop) {
    // The crop replaces resize and center crop; it is resized to the size they would give.
    const size = outputSize(p) ?? (p.do_resize && p.size && 'shortest_edge' in p.size
      ? { height: p.size.shortest_edge, width: p.size.shortest_edge } : { height: out.height, width: out.width });
    const box = cropBox(out.width, out.height, a, key);
    out = resizeImage(cropImage(out, box.left, box.top, box.width, box.height), size.width, size.height, p.resample);
  } else {
    const sized = resizeAndCrop(out, p);
    if (typeof sized === 'string') return sized;
    out = sized;
  }
  if (a.horizontalFlip && uniform(key, 40) < 0.5) out = flipImage(out);
  return toPixelValues(out, p);
}
