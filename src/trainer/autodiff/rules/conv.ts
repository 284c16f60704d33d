// Gradient rule of Conv (any spatial rank, strides, pads, dilations, groups). The input gradient
// is in general a ConvTranspose — the exact adjoint of Conv; ungrouped 2-D Convs with static sizes
// get faster forms, below. Their weight gradient is a matrix product over the im2col matrix of X,
// one per kernel row, or channel-major in one piece on small outputs (the usual
// formulation, and PyTorch's, in pieces that keep less); other Convs get a Conv over transposed
// tensors, which runs anywhere but is slow: onnxruntime treats dY as a kernel as large as the
// image and does a product per input channel with as many columns as the kernel has positions
// (ResNet-18's step at 64×64 takes about 10% longer that way). The input gradient is, by output
// size: up to 16 positions one Gemm over the batch and a col2im product (inputGradientAsGemm);
// from 32 positions at stride 1 a Conv with the flipped weight (inputGradientAsConv); otherwise
// a ConvTranspose. Each was measured per operator against the others (docs/PERFORMANCE.md).

import { GraphBuilder } from '../../onnx/builder';
import { attrInt, attrInts } from '../../onnx/graph';
import { DataType, fromNumbers } from '../../onnx/tensor';
import { InferCtx } from '../../onnx/shapes/facts';
import { WindowParams, windowParams } from '../../onnx/shapes/nn';
import { GradContext, GradientRule, defineRule } from '../registry';

/** Explicit kernel, strides, pads and dilations of a Conv-like node (auto_pad resolved). */
export function convParams(g: GradContext, kernelFromWeight: boolean) {
  const x = g.shape(g.x(0))!;
  const kernel = attrInts(g.node, 'kernel_shape') ?? (kernelFromWeight ? (g.shape(g.x(1))!.slice(2) as number[]) : []);
  if (kernel.some((k) => typeof k !== 'number')) g.fail('its kernel size must be static');
  const ctx = new InferCtx(g.node, [], 0);
  return windowParams(ctx, x.slice(2), kernel);
}

/**
 * The input gradient of a windowed operator: ConvTranspose(dy, w) with the end padding left
 * untrimmed, so that it covers every input position some window reached, then cut (or
 * zero-padded, for positions no window reached) to x's spatial size.
 */
export function transposedWindow(b: GraphBuilder, dy: string, w: string, x: string, p: WindowParams, group: number): string {
  const n = p.kernel.length;
  const begin = p.pads.slice(0, n);
  const t = b.op('ConvTranspose', [dy, w], {
    kernel_shape: p.kernel, strides: p.strides, pads: [...begin, ...begin.map(() => 0)], dilations: p.dilations, group,
    ...trailingPositions(b, dy, x, p),
  });
  return fitSpatial(b, t, x, n);
}

/**
 * ConvTranspose's output_padding for the trailing input positions no window reached (a stride-2
 * 1×1 Conv on an even size leaves the last row and column out), where sizes are static and each
 * is under the stride, as ONNX allows: onnxruntime writes those zeros itself, where a Pad after it
 * copied the whole gradient again on one thread (ResNet-18 224²'s three downsampling Convs: 4.5,
 * 3.1 and 2.5 ms of Pad; ConvTranspose 3.9 ms with or without output_padding, isolated).
 */
function trailingPositions(b: GraphBuilder, dy: string, x: string, p: WindowParams): { output_padding?: number[] } {
  const n = p.kernel.length;
  const [xs, ys] = [b.shape(x), b.shape(dy)];
  if (!xs || !ys) return {};
  const extra: number[] = [];
  for (let a = 0; a < n; a++) {
    const [size, out] = [xs[a + 2], ys[a + 2]];
    if (typeof size !== 'number' || typeof out !== 'number') return {};
    const reached = (out - 1) * p.strides[a] + (p.kernel[a] - 1) * p.dilations[a] + 1 - p.pads[a];
    extra.push(size - reached);
  }
  if (extra.every((d) => d === 0) || extra.some((d, a) => d < 0 || d >= p.strides[a])) return {};
  return { output_padding: extra };
}

function fitSpatial(b: GraphBuilder, y: string, x: string, spatialRank: number): string {
  const xs = b.shape(x)!;
  const ys = b.shape(y)!;
  const axes = Array.from({ length: spatialRank }, (_, i) => i + 2);
  const diff = axes.map((a) => (typeof xs[a] === 'number' && typeof ys[a] === 'number' ? (xs[a] as number) - (ys[a] as number) : undefined));
  if (diff.every((d) => d !== undefined)) {
    const known = diff as number[];
    let out = y;
    if (known.some((d) => d > 0)) out = b.op('Pad', [out, b.int64s([...axes.map(() => 0), ...known.map((d) => Math.max(d, 0))]), b.scalarLike(0, y), b.int64s(axes)]);
    if (known.some((d) => d < 0)) out = b.op('Slice', [out, b.int64s(axes.map(() => 0)), b.int64s(axes.map((a) => xs[a] as number)), b.int64s(axes)]);
    return out;
  }
  const want = b.op('Gather', [b.shapeOf(x), b.int64s(axes)], { axis: 0 });
  const have = b.op('Gather', [b.shapeOf(y), b.int64s(axes)], { axis: 0 });
  const missing = b.op('Max', [b.sub(want, have), b.int64s(axes.map(() => 0))]);
  const padded = b.op('Pad', [y, b.op('Concat', [b.int64s(axes.map(() => 0)), missing], { axis: 0 }), b.scalarLike(0, y), b.int64s(axes)]);
  const out = b.op('Slice', [padded, b.int64s(axes.map(() => 0)), want, b.int64s(axes)]);
  b.shapes.set(out, { type: b.type(y), shape: xs });
  return out;
}

/** Conv's gradient rule, also the rule of the SmallConv composite (programs/smallConv.ts). */
export const convRule: GradientRule = {
  inputs: 'all',
  backward: (g) => {
    const { b } = g;
    const dy = g.dy()!;
    const [x, w] = [g.x(0), g.x(1)];
    const group = attrInt(g.node, 'group', 1);
    const p = convParams(g, true);
    const n = p.kernel.length;
    let dx: string | undefined;
    let dw: string | undefined;
    let db: string | undefined;
    if (g.needs(0)) {
      dx = inputGradientAsGemm(g, dy, w, x, p, group) ?? inputGradientAsConv(g, dy, w, x, p, group) ?? transposedWindow(b, dy, w, x, p, group);
    }
    if (g.needs(1)) dw = weightGradientAsMatMul(g, x, dy, p, group) ?? weightGradient(g, x, dy, p, group);
    if (g.node.inputs[2] && g.needs(2)) {
      db = b.reduceSum(dy, [0, ...Array.from({ length: n }, (_, i) => i + 2)], false);
    }
    return [dx, dw, db];
  },
};
defineRule('Conv', convRule);

/**
 * Channels and spatial sizes of an ungrouped 2-D Conv whose x, dY and W have static sizes (the
 * batch aside), which the product forms below need; undefined for any other Conv.
 */
function staticSizes(b: GraphBuilder, x: string, dy: string, w: string, p: WindowParams, group: number) {
  const xs = b.shape(x);
  const ys = b.shape(dy);
  const ws = b.shape(w);
  if (group !== 1 || p.kernel.length !== 2 || !xs || !ys || !ws) return undefined;
  if ([...xs.slice(1), ...ys.slice(1), ...ws].some((d) => typeof d !== 'number')) return undefined;
  const [c, height, width] = xs.slice(1) as number[];
  const [o, ho, wo] = ys.slice(1) as number[];
  return { c, height, width, o, ho, wo };
}

/** Output images up to this many positions get their input gradient from inputGradientAsGemm. */
export const SMALL_IMAGE = 16;

/**
 * dX of an ungrouped 2-D Conv on small images (Ho·Wo ≤ SMALL_IMAGE, static sizes; any strides,
 * pads and dilations), as two products for the whole batch:
 * - columns = dY · W, with dY as [N·Ho·Wo, O] and W as [O, C·K] as it lies: [N, Ho·Wo, C, K];
 * - col2im as a product with a constant 0/1 matrix [Ho·Wo·K, H·W] that adds each kernel
 *   position's column into the input position it read (padding dropped), after moving C
 *   before the output positions (runs of K elements move), giving dX as [N, C, H, W].
 * onnxruntime's ConvTranspose does the first product image by image, each with Ho·Wo columns and
 * reading all of W again: 16 ms per Conv at ResNet-18's 2×2 layer-4 images against 9.5 ms for
 * the forward Conv (ResNet-18 64² step 0.46 → 0.39 s, stride 1 only). The first product was
 * Wᵀ · dY (Gemm with transA), [C·K, N·Ho·Wo]: onnxruntime's transposed left operand made it 2.26
 * against 1.90 ms at layer 4 ([4608, 512] · [512, 128]), 1.87 against 1.63 ms at layer 3, and its
 * result needed a transpose back to N, C at the end. At 8×8 the col2im product ([4096, 576] ×
 * [576, 64] per Conv at batch 32) would cost about what ConvTranspose takes there, so larger
 * images keep ConvTranspose.
 */
function inputGradientAsGemm(g: GradContext, dy: string, w: string, x: string, p: WindowParams, group: number): string | undefined {
  const { b } = g;
  const sizes = staticSizes(b, x, dy, w, p, group);
  if (!sizes) return undefined;
  const { c, height, width, o, ho, wo } = sizes;
  const [kh, kw] = p.kernel;
  if (ho * wo > SMALL_IMAGE) return undefined;
  const [top, left] = p.pads;
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const k = kh * kw;
  const columns = b.op('MatMul', [b.reshape(b.transpose(dy, [0, 2, 3, 1]), [-1, o]), b.reshape(w, [o, c * k])]);
  const perSample = b.reshape(b.transpose(b.reshape(columns, [-1, ho * wo, c, k]), [0, 2, 1, 3]), [-1, ho * wo * k]);
  // Output position (y, x) of kernel position (i, j) read input position (y·sh + i·dh − top, x·sw + j·dw − left).
  const scatter = new Array<number>(k * ho * wo * height * width).fill(0);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let y = 0; y < ho; y++) {
        for (let xo = 0; xo < wo; xo++) {
          const [row, col] = [y * sh + i * dh - top, xo * sw + j * dw - left];
          if (row < 0 || row >= height || col < 0 || col >= width) continue;
          scatter[((y * wo + xo) * k + i * kw + j) * height * width + row * width + col] = 1;
        }
      }
    }
  }
  const placed = b.op('MatMul', [perSample, b.constant(fromNumbers(b.type(dy), [ho * wo * k, height * width], scatter), 'col2im')]);
  return b.reshape(placed, [-1, c, height, width]);
}

/**
 * Images of at least this many positions per output channel get their weight gradient as one
 * product per image, summed over the batch (weightGradientAsMatMul). Measured per 3×3 Conv at
 * batch 32 (onnxruntime, the whole gradient): ResNet-18 224²'s layer 1 (3136 positions, 64
 * channels) 47–51 → 38 ms, its 7×7 stem 100 → 80 ms and at 64² 10 → 6 ms (1024 positions);
 * layer 2 (784, 128 channels) 32 → 30; layer 3 (196, 256) 27 → 36 and layer 4 (49, 512)
 * 28 → 68, where the per-image products [N, O, Kw·C] outgrow the matrix they reduce.
 */
export const PER_IMAGE_POSITIONS_PER_CHANNEL = 8;

/**
 * dW[o, c, i, j] = Σ_n Σ_y Σ_x dY[n, o, y, x] · Xpad[n, c, y·s + i·d, x·s + j·d]: each kernel
 * row's part of the im2col matrix, [N, Ho·Wo, Kw·C] (windowRowsOf: one Gather from X in NHWC),
 * in a MatMul with dY gives [O, Kw·C], and the rows side by side [O, K·C]. Where images are large
 * against the channels (PER_IMAGE_POSITIONS_PER_CHANNEL) the MatMul is one per image — dY as it
 * lies, [N, O, Ho·Wo] — and a ReduceSum over the batch: each image's rows stay in cache while
 * they are multiplied, and dY is not transposed. Otherwise one product for the batch, dY as
 * [O, N·Ho·Wo]. Needs 2-D, group 1 and static channel and spatial sizes; undefined otherwise.
 */
function weightGradientAsMatMul(g: GradContext, x: string, dy: string, p: WindowParams, group: number): string | undefined {
  const { b } = g;
  const sizes = staticSizes(b, x, dy, g.x(1), p, group);
  if (!sizes) return undefined;
  const { c, o, ho, wo } = sizes;
  const [kh, kw] = p.kernel;
  const dyAsRows = () => b.reshape(b.transpose(dy, [1, 0, 2, 3]), [o, -1]);
  if (ho * wo <= SMALL_IMAGE && kh * kw > 1) {
    // Small images: the whole matrix channel-major, so that the product is dW in its own
    // [O, C, Kh, Kw] order. Position-major, the product had to be transposed back, and at
    // ResNet-18's layer 4 moving the 512×512×3×3 gradient took ~6 ms per Conv; here the cost is
    // interleaving the slices, which are small.
    return b.reshape(b.op('MatMul', [dyAsRows(), channelMajorColumns(b, x, p, c, ho, wo)]), [o, c, kh, kw]);
  }
  // One product per kernel row. The whole matrix at once (then built from slices and a Concat)
  // held the slices and their stack together, twice the whole im2col matrix (ResNet-18 at 224²:
  // 441 MB at the step's peak, peak RSS 1972 → 1724 MB with rows); one product per position
  // re-reads dY K times and was 5–8% slower there.
  const { row, span } = windowRowsOf(b, x, p, sizes);
  let products: string[] = [];
  if (ho * wo >= PER_IMAGE_POSITIONS_PER_CHANNEL * o) {
    const dyImages = b.reshape(dy, [-1, o, ho * wo]);
    for (let i = 0; i < kh; i++) products.push(b.reduceSum(b.op('MatMul', [dyImages, b.reshape(row(i), [-1, ho * wo, span * c])]), [0], false));
  } else {
    const dyRows = dyAsRows();
    for (let i = 0; i < kh; i++) products.push(b.op('MatMul', [dyRows, b.reshape(row(i), [-1, span * c])]));
  }
  // Rows gathered by units of pixels cover a few pixels past the kernel: their products go.
  if (span > kw) products = products.map((q) => b.reshape(b.op('Slice', [b.reshape(q, [o, span, c]), b.int64s([0]), b.int64s([kw]), b.int64s([1])]), [o, kw * c]));
  const product = products.length === 1 ? products[0] : b.op('Concat', products, { axis: 1 });
  return b.transpose(b.reshape(product, [o, kh, kw, c]), [0, 3, 1, 2]);
}

/**
 * Inputs of fewer channels than this, with a horizontal stride of 2 or more, gather their im2col
 * rows by units of `stride` pixels (windowRowsOf): ResNet-18's RGB stem (7×7, stride 2) copied
 * rows of 3 floats, 12 bytes each.
 */
export const PIXEL_UNIT_MAX_CHANNELS = 16;

/**
 * X moved to NHWC and padded once, its positions flattened ([N, Hp·Wp, C]); `row(i)` gives kernel
 * row i's part of the im2col matrix, [N, Ho·Wo, span, C] position-major, as one Gather of rows
 * with constant indices (the same for every image, so any batch size). Strided Slices of each
 * position and a Concat of a row's slices copied the matrix twice: the Gather of ResNet-18 224²'s
 * layer-1 rows took 5–13 ms against 24–34 ms (onnxruntime's profiler). `span` is Kw, except
 * where few channels make rows of a few bytes and the stride is 2 or more: then the rows are runs
 * of `stride` pixels (each window starts at a multiple of the stride) and a window takes
 * ⌈Kw / stride⌉ of them, `span` pixels, the last few past the kernel (their products are dropped;
 * X gets the right padding the last window reads). The stem's gradient, isolated at 224²:
 * 78.9 → 68.6 ms (rows of 6 floats instead of 3, 4 per window instead of 7); at 64² 6.4 → 5.9.
 */
function windowRowsOf(b: GraphBuilder, x: string, p: WindowParams, sizes: { c: number; height: number; width: number; ho: number; wo: number }): { row: (i: number) => string; span: number } {
  const { c, height, width, ho, wo } = sizes;
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const [top, left, bottom, padRight] = p.pads;
  const kw = p.kernel[1];
  const unit = c < PIXEL_UNIT_MAX_CHANNELS && sw > 1 && dw === 1 && kw > 1 ? sw : 1;
  const units = Math.ceil(kw / unit);
  const span = units * unit;
  const hp = height + top + bottom;
  // Wide enough for the last window's whole units, and a whole number of units.
  const wp = Math.ceil(Math.max(width + left + padRight, (wo - 1) * sw + span) / unit) * unit;
  const right = wp - width - left;
  let nhwc = b.transpose(x, [0, 2, 3, 1]);
  if (top || left || bottom || right) nhwc = b.op('Pad', [nhwc, b.int64s([0, top, left, 0, 0, bottom, right, 0])]);
  const rows = b.reshape(nhwc, [-1, (hp * wp) / unit, unit * c]);
  const row = (i: number) => {
    // Convs of the same geometry (a ResNet stage's) share the table.
    const key = `window_rows:${[hp, wp, ho, wo, kw, sh, sw, dh, dw, unit, i].join(',')}`;
    const index = b.sharedConstant(key, () => {
      const at = new Int32Array(ho * wo * units);
      let k = 0;
      for (let y = 0; y < ho; y++) {
        for (let xo = 0; xo < wo; xo++) {
          for (let j = 0; j < units; j++) at[k++] = ((y * sh + i * dh) * wp + xo * sw + j * unit * dw) / unit;
        }
      }
      return fromNumbers(DataType.INT32, [ho * wo, units], at);
    }, 'window_rows');
    return b.op('Gather', [rows, index], { axis: 1 });
  };
  return { row, span };
}

/**
 * Stride-1 outputs from this many positions get their input gradient from inputGradientAsConv:
 * the same limit as the CPU's blocked Convs (programs/nchwc.ts, BLOCKED_MIN_POSITIONS; a test
 * keeps them equal), which run these Convs. ResNet-18 224²'s 14×14 input gradients (256
 * channels): ConvTranspose 37–40 ms, the blocked Conv 15 ms plus the weight's flip and reorder.
 * Where that Conv is not blocked (the CUDA provider, CPUs without NCHWc kernels, channel counts
 * that are not multiples of the block) it was measured slower than ConvTranspose at 14×14 on the
 * CPU (43–46 against 37–40 ms): the autodiff does not know the session's provider.
 */
export const LARGE_IMAGE = 32;

/**
 * dX of a stride-1, ungrouped 2-D Conv on large images (Ho·Wo ≥ LARGE_IMAGE, static sizes): a
 * Conv of dY with the weight's roles swapped and its kernel flipped, padded by (K − 1)·d − pad.
 * onnxruntime's Conv ran these faster than its ConvTranspose (ResNet-18 224²: layer 1 46 → 30 ms,
 * layer 2 35 → 26 ms per Conv; 64²: layer 1 4.1 → 2.5 ms), and faster again in the blocked
 * layout. Moving and flipping W is cheap where images are large, as the channels are few there.
 */
function inputGradientAsConv(g: GradContext, dy: string, w: string, x: string, p: WindowParams, group: number): string | undefined {
  const { b } = g;
  const ys = b.shape(dy);
  const ws = b.shape(w);
  if (group !== 1 || p.kernel.length !== 2 || !ys || !ws) return undefined;
  if (p.strides.some((s) => s !== 1) || [...ys.slice(2), ...ws].some((d) => typeof d !== 'number')) return undefined;
  const [ho, wo] = ys.slice(2) as number[];
  if (ho * wo < LARGE_IMAGE) return undefined;
  const [kh, kw] = p.kernel;
  const [dh, dw] = p.dilations;
  const reach = [(kh - 1) * dh, (kw - 1) * dw];
  const pads = [reach[0] - p.pads[0], reach[1] - p.pads[1], reach[0] - p.pads[2], reach[1] - p.pads[3]];
  if (pads.some((v) => v < 0)) return undefined;
  const big = Number.MAX_SAFE_INTEGER;
  const flipped = b.op('Slice', [b.transpose(w, [1, 0, 2, 3]), b.int64s([-1, -1]), b.int64s([-big, -big]), b.int64s([2, 3]), b.int64s([-1, -1])]);
  return fitSpatial(b, b.op('Conv', [dy, flipped], { pads, dilations: p.dilations }), x, 2);
}

/**
 * The im2col matrix of a 2-D X, channel-major: [N·Ho·Wo, C·Kh·Kw], row (n, y, x), column
 * (c, i, j) = Xpad[n, c, y·sh + i·dh, x·sw + j·dw]. For small images only: the Concat along the
 * last axis interleaves single elements.
 */
export function channelMajorColumns(b: GraphBuilder, x: string, p: WindowParams, c: number, ho: number, wo: number): string {
  const [kh, kw] = p.kernel;
  const slice = windowsOf(b, x, p, ho, wo);
  const positions: string[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) positions.push(b.unsqueeze(slice(i, j), [4]));
  const stacked = positions.length === 1 ? positions[0] : b.op('Concat', positions, { axis: 4 });
  return b.reshape(stacked, [-1, c * kh * kw]);
}

/**
 * X moved to NHWC and padded once; the returned function gives kernel position (i, j)'s window
 * of it, a strided Slice [N, Ho, Wo, C] (the pieces of the im2col matrix).
 */
function windowsOf(b: GraphBuilder, x: string, p: WindowParams, ho: number, wo: number): (i: number, j: number) => string {
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const [top, left, bottom, right] = p.pads;
  let nhwc = b.transpose(x, [0, 2, 3, 1]);
  if (p.pads.some((v) => v > 0)) nhwc = b.op('Pad', [nhwc, b.int64s([0, top, left, 0, 0, bottom, right, 0])]);
  return (i, j) => {
    const start = [i * dh, j * dw];
    return b.op('Slice', [nhwc, b.int64s(start), b.int64s([start[0] + (ho - 1) * sh + 1, start[1] + (wo - 1) * sw + 1]), b.int64s([1, 2]), b.int64s([sh, sw])]);
  };
}

/**
 * dW[m, c, k] = Σ_n Σ_p X[n, g·Cg + c, k·d + p·s − pad] · dY[n, m, p]: a convolution whose batch
 * is X's channels within a group, whose channels are (group, sample), and whose kernel is dY, with
 * the roles of stride and dilation swapped. Its output can exceed the kernel; the rest is cut.
 * ConvTranspose's weight gradient is the same sum with X and dY trading places.
 */
export function weightGradient(g: GradContext, x: string, dy: string, p: WindowParams, group: number): string {
  const { b } = g;
  const n = p.kernel.length;
  const xs = b.shape(x)!;
  const ws = b.shape(g.x(1))!;
  const cg = ws[1];
  if (typeof cg !== 'number') g.fail('its weight must have a static shape');
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  let xt: string;
  if (group === 1) {
    xt = b.transpose(x, [1, 0, ...spatial]);
  } else {
    // [N, g·Cg, S] → [N, g, Cg, S] → [Cg, g, N, S] → [Cg, g·N, S]
    const size = xs.slice(2);
    // Spatial sizes known only at run time (after a "same" Pad computed from the input's size)
    // are read from the shape in the graph.
    const spatialOf = (v: string, from: number) => (size.every((d) => typeof d === 'number')
      ? b.int64s(size as number[])
      : b.op('Slice', [b.shapeOf(v), b.int64s([from]), b.int64s([from + n])]));
    const split = b.reshape(x, b.op('Concat', [b.int64s([-1, group, cg]), spatialOf(x, 2)], { axis: 0 }));
    const moved = b.transpose(split, [2, 1, 0, ...spatial.map((a) => a + 1)]);
    xt = b.reshape(moved, b.op('Concat', [b.int64s([cg, -1]), spatialOf(moved, 3)], { axis: 0 }));
  }
  const dyt = b.transpose(dy, [1, 0, ...spatial]);
  const conv = b.op('Conv', [xt, dyt], {
    strides: p.dilations, dilations: p.strides, pads: p.pads, group,
  });
  let out = b.transpose(conv, [1, 0, ...spatial]);
  const os = b.shape(out);
  const needsCut = !os || spatial.some((a, i) => os[a] !== p.kernel[i]);
  if (needsCut) {
    out = b.op('Slice', [out, b.int64s(spatial.map(() => 0)), b.int64s(p.kernel), b.int64s(spatial)]);
  }
  return out;
}
