// Resize's geometry: per axis, the output size and the scale the coordinate transform divides by.
// Shape inference and the gradient rule share it, so the gradient's interpolation matrices are
// built for exactly the sizes inference promised.

import { Dim, attrInts, attrString } from '../graph';
import { freshDim, normalizeAxis } from './dims';
import { InferFn } from './facts';

export interface ResizeAxis {
  input: Dim;
  output: Dim;
  /** The scale of the coordinate transform (given, or output/input when sizes are given). */
  scale: number | undefined;
}

/**
 * Output size and scale per axis of a Resize with the given scales or sizes (either may be
 * restricted to `axes`, opset 18; sizes may hold symbols). Sizes with a keep-aspect-ratio policy other than stretch are
 * not supported. Arithmetic is done in float32, as onnxruntime does, so floors agree.
 */
export function resizeAxes(input: Dim[], scales: number[] | undefined, sizes: Dim[] | undefined, axesAttr: number[] | undefined): ResizeAxis[] {
  const rank = input.length;
  const axes = (axesAttr ?? input.map((_, i) => i)).map((a) => normalizeAxis(a, rank));
  const out: ResizeAxis[] = input.map((d) => ({ input: d, output: d, scale: 1 }));
  axes.forEach((a, i) => {
    const d = input[a];
    if (sizes && sizes.length) {
      // TorchScript builds sizes from Shape(x), so unresized axes can hold x's own symbol.
      const n = sizes[i];
      const scale = n === d ? 1 : typeof d === 'number' && typeof n === 'number' ? Math.fround(n / d) : undefined;
      out[a] = { input: d, output: n, scale };
    } else if (scales && scales.length) {
      const s = Math.fround(scales[i]);
      const n = typeof d === 'number' ? Math.floor(Math.fround(d * s)) : s === 1 ? d : freshDim();
      out[a] = { input: d, output: n, scale: s };
    } else out[a] = { input: d, output: freshDim(), scale: undefined };
  });
  return out;
}

export const resizeShape: InferFn = (c) => {
  const x = c.shape(0);
  if (!x) return [{ type: c.type(0) }];
  if (attrString(c.node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') return [{ type: c.type(0), shape: x.map(() => freshDim()) }];
  const scales = c.has(2) ? c.in(2)?.floats : undefined;
  const sizes = c.has(3) ? c.value(3) : undefined;
  if (c.has(3) && !sizes) return [{ type: c.type(0), shape: x.map(() => freshDim()) }];
  return [{ type: c.type(0), shape: resizeAxes(x, scales, sizes, attrInts(c.node, 'axes')).map((a) => a.output) }];
};
