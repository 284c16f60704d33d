// Gradient rule of Resize in nearest, linear and cubic modes (what torch.nn.functional.interpolate
// exports). All three are separable and linear in the input: along each resized axis, output =
// M · input for an [out, in] interpolation matrix M that depends only on the sizes. The gradient
// is therefore Mᵀ applied to dY along each axis, one MatMul per axis, with M built here at
// graph-build time from onnxruntime's own coordinate and rounding rules (in float32, as it
// computes them). This is exact for every scale factor, but needs the resized axes' sizes static.

import { GraphBuilder } from '../../onnx/builder';
import { attrFloat, attrInt, attrInts, attrString } from '../../onnx/graph';
import { resizeAxes } from '../../onnx/shapes/resize';
import { fromNumbers } from '../../onnx/tensor';
import { GradContext, defineRule } from '../registry';

const f32 = Math.fround;

/** The input coordinate an output index maps to, as onnxruntime computes it. */
function sourceCoordinate(mode: string, x: number, scale: number, inSize: number, outSize: number): number {
  switch (mode) {
    case 'half_pixel': return f32(f32(f32(x + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel': return outSize > 1 ? f32(f32(f32(x + 0.5) / scale) - 0.5) : 0;
    case 'align_corners': return outSize === 1 ? 0 : f32(f32(x * (inSize - 1)) / (outSize - 1));
    case 'asymmetric': return f32(x / scale);
    default: throw new Error(`coordinate_transformation_mode '${mode}' has no gradient rule`);
  }
}

/** The input index nearest mode picks for a coordinate, clamped into the axis. */
function nearestIndex(rounding: string, c: number, inSize: number): number {
  let i: number;
  if (rounding === 'floor') i = Math.floor(c);
  else if (rounding === 'ceil') i = Math.ceil(c);
  else if (rounding === 'round_prefer_ceil') i = Math.sign(c) * Math.round(Math.abs(c));
  else i = c === Math.trunc(c) + 0.5 ? Math.floor(c) : Math.sign(c) * Math.round(Math.abs(c));
  return Math.min(Math.max(i, 0), inSize - 1);
}

/**
 * Keys' cubic convolution weights of the four neighbours floor(c)−1 … floor(c)+2 at fraction t,
 * with coefficient a (−0.75, PyTorch's bicubic), as onnxruntime computes them.
 */
function cubicWeights(t: number, a: number): number[] {
  const near = (d: number) => ((a + 2) * d - (a + 3)) * d * d + 1;
  const far = (d: number) => ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)].map(f32);
}

/** The [out, in] interpolation matrix of one axis, row-major. */
function interpolationMatrix(node: GradContext['node'], inSize: number, outSize: number, scale: number): number[] {
  const mode = attrString(node, 'mode', 'nearest');
  const transform = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const rounding = attrString(node, 'nearest_mode', 'round_prefer_floor');
  const m = new Array<number>(outSize * inSize).fill(0);
  for (let o = 0; o < outSize; o++) {
    const c = sourceCoordinate(transform, o, scale, inSize, outSize);
    if (mode === 'nearest') {
      m[o * inSize + nearestIndex(rounding, c, inSize)] = 1;
      continue;
    }
    if (mode === 'cubic') {
      // Neighbours beyond the edge repeat the edge (exclude_outside = 0), or drop out and the
      // remaining weights are renormalized (exclude_outside = 1).
      const base = Math.floor(c);
      const weights = cubicWeights(f32(c - base), attrFloat(node, 'cubic_coeff_a', -0.75));
      const exclude = attrInt(node, 'exclude_outside', 0) === 1;
      const inside = weights.map((_, k) => base - 1 + k >= 0 && base - 1 + k < inSize);
      const total = exclude ? weights.reduce((sum, w, k) => sum + (inside[k] ? w : 0), 0) : 1;
      weights.forEach((w, k) => {
        if (exclude && !inside[k]) return;
        const i = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
        m[o * inSize + i] += exclude ? w / total : w;
      });
      continue;
    }
    // Linear: the two neighbours of the clamped coordinate, weighted by distance.
    const x = Math.min(Math.max(c, 0), inSize - 1);
    const i1 = Math.min(Math.trunc(x), inSize - 1);
    const i2 = Math.min(i1 + 1, inSize - 1);
    if (i1 === i2) {
      m[o * inSize + i1] += 1;
      continue;
    }
    m[o * inSize + i1] += f32(Math.abs(x - i2));
    m[o * inSize + i2] += f32(Math.abs(x - i1));
  }
  return m;
}

/** dy with the matrix's transpose applied along one axis: Σ_o dy[…o…] · M[o, i]. */
function applyAlongAxis(b: GraphBuilder, dy: string, axis: number, matrix: string): string {
  const rank = b.rank(dy);
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[axis], perm[rank - 1]] = [perm[rank - 1], perm[axis]];
  return b.transpose(b.op('MatMul', [b.transpose(dy, perm), matrix]), perm);
}

defineRule('Resize', {
  inputs: [0],
  backward: (g) => {
    const { b } = g;
    const x = g.x(0);
    const mode = attrString(g.node, 'mode', 'nearest');
    if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') g.fail(`mode '${mode}' has no gradient rule`);
    if (attrString(g.node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') g.fail('keep_aspect_ratio_policy must be stretch for its gradient');
    if (attrInt(g.node, 'antialias', 0) !== 0) g.fail('antialias has no gradient rule');
    const scales = g.node.inputs[2] ? b.facts(g.x(2)).floats : undefined;
    const sizes = g.node.inputs[3] ? b.facts(g.x(3)).value : undefined;
    if (g.node.inputs[2] && !scales) g.fail('its scales (input 2) must be a constant for its gradient');
    if (g.node.inputs[3] && !sizes) g.fail('its sizes (input 3) must be known when the graph is compiled for its gradient');
    const axes = resizeAxes(b.shape(x)!, scales, sizes, attrInts(g.node, 'axes'));
    let dx = g.dy()!;
    axes.forEach((a, axis) => {
      if (a.input === a.output && a.scale === 1) return;
      if (typeof a.input !== 'number' || typeof a.output !== 'number' || a.scale === undefined) {
        return g.fail(`resized axis ${axis} needs a static size for its gradient`);
      }
      const weights = interpolationMatrix(g.node, a.input, a.output, a.scale);
      const matrix = b.constant(fromNumbers(b.type(x), [a.output, a.input], weights), 'interpolation');
      dx = applyAlongAxis(b, dx, axis, matrix);
    });
    return [dx];
  },
});
