// Shape inference for neural-network operators: MatMul, Gemm, convolutions, pooling,
// normalizations, reductions and loss operators.

import { Dim, attrString } from '../graph';
import { DataType } from '../tensor';
import { broadcastShapes, freshDim, normalizeAxis } from './dims';
import { einsumShape } from './einsum';
import { Facts, InferCtx, InferFn } from './facts';
import { resizeShape } from './resize';

function matmulShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b) return undefined;
  const aa = a.length === 1 ? [1, a[0]] : a;
  const bb = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes([aa.slice(0, -2), bb.slice(0, -2)]);
  if (!batch) return undefined;
  const out = [...batch, aa[aa.length - 2], bb[bb.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** Spatial output size of a convolution or pooling window. */
export function windowOutput(input: Dim, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number, ceil: boolean): Dim {
  if (typeof input !== 'number') return freshDim();
  const eff = (kernel - 1) * dilation + 1;
  const span = input + padBegin + padEnd - eff;
  const out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // ceil_mode never starts a window inside the end padding (PyTorch and ONNX agree).
  if (ceil && (out - 1) * stride >= input + padBegin) return out - 1;
  return out;
}

export interface WindowParams {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
}

/** Kernel, strides, pads (resolving auto_pad) and dilations of a Conv or pooling node. */
export function windowParams(c: InferCtx, spatial: Dim[], kernel: number[]): WindowParams {
  const n = kernel.length;
  const strides = c.attrInts('strides') ?? new Array(n).fill(1);
  const dilations = c.attrInts('dilations') ?? new Array(n).fill(1);
  let pads = c.attrInts('pads') ?? new Array(2 * n).fill(0);
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = new Array(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const d = spatial[i];
      if (typeof d !== 'number') throw new Error(`${c.node.op} "${c.node.name}" uses auto_pad ${autoPad} on a dynamic size`);
      const out = Math.ceil(d / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - d);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i];
    }
  }
  return { kernel, strides, pads, dilations };
}

function reduceShape(c: InferCtx, axesInput: number): Facts {
  const s = c.shape(0);
  const keep = c.attrInt('keepdims', 1) === 1;
  const axes = c.axes(axesInput);
  if (!s) return { type: c.type(0) };
  if (axes === 'unknown') return { type: c.type(0), shape: keep ? s.map(() => freshDim()) : undefined };
  const noop = c.attrInt('noop_with_empty_axes', 0) === 1;
  const all = axes === undefined || axes.length === 0;
  if (all && noop) return { type: c.type(0), shape: s };
  const norm = all ? s.map((_, i) => i) : axes!.map((a) => normalizeAxis(a, s.length));
  const out: Dim[] = [];
  s.forEach((d, i) => {
    if (!norm.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return { type: c.type(0), shape: out };
}

export function nnRules(): Record<string, InferFn> {
  const r: Record<string, InferFn> = {};

  r.MatMul = (c) => [{ type: c.type(0), shape: matmulShape(c.shape(0), c.shape(1)) }];

  r.Gemm = (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    const m = a ? a[c.attrInt('transA', 0) ? 1 : 0] : freshDim();
    const n = b ? b[c.attrInt('transB', 0) ? 0 : 1] : freshDim();
    return [{ type: c.type(0), shape: [m, n] }];
  };

  r.Conv = (c) => {
    const x = c.shape(0);
    const w = c.shape(1);
    if (!x || !w) return [{ type: c.type(0), shape: x && x.map(() => freshDim()) }];
    const kernel = c.attrInts('kernel_shape') ?? (w.slice(2) as number[]);
    const p = windowParams(c, x.slice(2), kernel);
    const n = kernel.length;
    const spatial = x.slice(2).map((d, i) => windowOutput(d, kernel[i], p.strides[i], p.pads[i], p.pads[i + n], p.dilations[i], false));
    return [{ type: c.type(0), shape: [x[0], w[0], ...spatial] }];
  };

  r.ConvTranspose = (c) => {
    const x = c.shape(0);
    const w = c.shape(1);
    if (!x || !w) return [{ type: c.type(0), shape: x && x.map(() => freshDim()) }];
    const group = c.attrInt('group', 1);
    const kernel = c.attrInts('kernel_shape') ?? (w.slice(2) as number[]);
    const n = kernel.length;
    const outShape = c.attrInts('output_shape');
    const channels = typeof w[1] === 'number' ? w[1] * group : freshDim();
    if (outShape) return [{ type: c.type(0), shape: [x[0], channels, ...outShape.slice(-n)] }];
    const strides = c.attrInts('strides') ?? new Array(n).fill(1);
    const dil = c.attrInts('dilations') ?? new Array(n).fill(1);
    const pads = c.attrInts('pads') ?? new Array(2 * n).fill(0);
    const outPad = c.attrInts('output_padding') ?? new Array(n).fill(0);
    const spatial = x.slice(2).map((d, i) =>
      typeof d === 'number' ? strides[i] * (d - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + n] : freshDim());
    return [{ type: c.type(0), shape: [x[0], channels, ...spatial] }];
  };

  const pool: InferFn = (c) => {
    const x = c.shape(0);
    if (!x) return c.node.outputs.map(() => ({ type: c.type(0) }));
    const kernel = c.attrInts('kernel_shape') ?? [];
    const p = windowParams(c, x.slice(2), kernel);
    const n = kernel.length;
    const ceil = c.attrInt('ceil_mode', 0) === 1;
    const spatial = x.slice(2).map((d, i) => windowOutput(d, kernel[i], p.strides[i], p.pads[i], p.pads[i + n], p.dilations[i], ceil));
    const shape = [x[0], x[1], ...spatial];
    return [{ type: c.type(0), shape }, { type: DataType.INT64, shape }];
  };
  r.MaxPool = pool;
  r.AveragePool = pool;

  const globalPool: InferFn = (c) => {
    const x = c.shape(0);
    return [{ type: c.type(0), shape: x && [x[0], x[1], ...x.slice(2).map(() => 1)] }];
  };
  r.GlobalAveragePool = globalPool;
  r.GlobalMaxPool = globalPool;

  r.BatchNormalization = (c) => {
    const x = c.shape(0);
    const ch = c.shape(1)?.[0] ?? x?.[1] ?? freshDim();
    return c.node.outputs.map((_, i) => (i === 0 ? { type: c.type(0), shape: x } : { type: c.type(1), shape: [ch] }));
  };

  r.LayerNormalization = (c) => {
    const x = c.shape(0);
    if (!x) return [{ type: c.type(0) }, { type: DataType.FLOAT }, { type: DataType.FLOAT }];
    const axis = normalizeAxis(c.attrInt('axis', -1), x.length);
    const stat = [...x.slice(0, axis), ...x.slice(axis).map(() => 1)];
    const stash = c.attrInt('stash_type', 1) === 1 ? DataType.FLOAT : c.type(0);
    return [{ type: c.type(0), shape: x }, { type: stash, shape: stat }, { type: stash, shape: stat }];
  };

  for (const op of ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'ReduceSum']) {
    r[op] = (c) => [reduceShape(c, 1)];
  }

  const argReduce: InferFn = (c) => {
    const x = c.shape(0);
    if (!x) return [{ type: DataType.INT64 }];
    const axis = normalizeAxis(c.attrInt('axis', 0), x.length);
    const keep = c.attrInt('keepdims', 1) === 1;
    const out = keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis);
    return [{ type: DataType.INT64, shape: out }];
  };
  r.ArgMax = argReduce;
  r.ArgMin = argReduce;

  const lossShape: InferFn = (c) => {
    const scores = c.shape(0);
    const reduction = attrString(c.node, 'reduction', 'mean');
    const perSample = scores ? [scores[0], ...scores.slice(2)] : undefined;
    const out: Facts[] = [{ type: c.type(0), shape: reduction === 'none' ? perSample : [] }];
    if (c.node.outputs.length > 1) out.push({ type: c.type(0), shape: scores });
    return out;
  };
  r.SoftmaxCrossEntropyLoss = lossShape;
  r.NegativeLogLikelihoodLoss = lossShape;

  r.Einsum = einsumShape;
  r.Resize = resizeShape;
  return r;
}
