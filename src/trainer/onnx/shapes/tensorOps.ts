// Shape inference for operators that move data around: Reshape, Transpose, Concat, Slice,
// Gather, Expand…, and for the shape subgraphs (Shape, Constant, Range…) whose values it tracks.

import { Dim, attrTensor } from '../graph';
import { DataType } from '../tensor';
import { addDim, broadcastShapes, divDim, freshDim, normalizeAxis, productOf } from './dims';
import { Facts, InferCtx, InferFn, VALUE_LIMIT, factsOfTensor } from './facts';

/**
 * A Slice end at or past this means "to the end of the axis": exporters write INT64_MAX or
 * INT32_MAX there, and this project's own rules Number.MAX_SAFE_INTEGER, which a dimension never
 * reaches. (With INT64_MAX / 2 as the bound, a slice [1 : MAX_SAFE_INTEGER] of a symbolic axis came
 * out as MAX_SAFE_INTEGER - 1 long, and the causal-LM shift's labels with it.)
 */
const TO_THE_END = 2 ** 31 - 1;

function fresh(rank: number): Dim[] {
  return Array.from({ length: rank }, () => freshDim());
}

/** Output shape of Reshape when the target shape's contents are known. */
function reshape(input: Dim[] | undefined, target: Dim[], allowZero: boolean): Dim[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? input?.[i] ?? freshDim() : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const known = out.filter((_, i) => i !== minus);
    out[minus] = input ? divDim(productOf(input), productOf(known)) : freshDim();
  }
  return out;
}

function sliceDim(d: Dim, start: number, end: number, step: number): Dim {
  if (typeof d === 'number') {
    const clampS = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    if (step > 0) {
      s = clampS(s, 0, d);
      e = clampS(e, 0, d);
      return Math.max(0, Math.ceil((e - s) / step));
    }
    s = clampS(s, -1, d - 1);
    e = clampS(e, -1, d - 1);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (start === 0 && end >= TO_THE_END && step === 1) return d;
  if (start >= 0 && end >= 0 && end < TO_THE_END && step === 1) return end - start;
  return freshDim();
}

/** Normalized (starts, ends, axes, steps) of a Slice node when all are known. */
export function sliceParams(c: InferCtx, rank: number) {
  const starts = c.ints(1);
  const ends = c.ints(2);
  if (!starts || !ends) return undefined;
  const axes = c.has(3) ? c.ints(3) : starts.map((_, i) => i);
  const steps = c.has(4) ? c.ints(4) : starts.map(() => 1);
  if (!axes || !steps) return undefined;
  return { starts, ends, axes: axes.map((a) => normalizeAxis(a, rank)), steps };
}

export function tensorOpRules(): Record<string, InferFn> {
  const r: Record<string, InferFn> = {};

  r.Constant = (c) => {
    const t = attrTensor(c.node, 'value');
    if (t) return [factsOfTensor(t)];
    const a = c.node.attrs.get('value_int') ?? c.node.attrs.get('value_ints');
    if (a && (a.kind === 'int' || a.kind === 'ints')) {
      const v = a.kind === 'int' ? [a.value] : a.value;
      return [{ type: DataType.INT64, shape: a.kind === 'int' ? [] : [v.length], value: v }];
    }
    const f = c.node.attrs.get('value_float') ?? c.node.attrs.get('value_floats');
    if (f && f.kind === 'float') return [{ type: DataType.FLOAT, shape: [] }];
    if (f && f.kind === 'floats') return [{ type: DataType.FLOAT, shape: [f.value.length] }];
    return [undefined];
  };

  r.Shape = (c) => {
    const s = c.shape(0);
    if (!s) return [{ type: DataType.INT64, shape: [freshDim()] }];
    const rank = s.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
    const start = clamp(c.attrInt('start', 0));
    const end = clamp(c.attrInt('end', rank));
    const value = s.slice(start, Math.max(start, end));
    return [{ type: DataType.INT64, shape: [value.length], value }];
  };

  r.Size = (c) => {
    const s = c.shape(0);
    return [{ type: DataType.INT64, shape: [], value: s ? [productOf(s)] : undefined }];
  };

  r.ConstantOfShape = (c) => {
    const t = attrTensor(c.node, 'value');
    const v = c.value(0);
    const shape = v ?? (c.shape(0) && typeof c.shape(0)![0] === 'number' ? fresh(c.shape(0)![0] as number) : undefined);
    const f: Facts = { type: t?.type ?? DataType.FLOAT, shape };
    if (t && v && v.length <= 1 && (t.type === DataType.INT64 || t.type === DataType.INT32)) {
      const n = v.length === 0 ? 1 : v[0];
      if (typeof n === 'number' && n <= VALUE_LIMIT) f.value = new Array(n).fill(Number(t.data[0]));
    }
    return [f];
  };

  r.Range = (c) => {
    const [s, l, d] = [c.ints(0), c.ints(1), c.ints(2)];
    if (s && l && d) {
      const n = Math.max(Math.ceil((l[0] - s[0]) / d[0]), 0);
      const f: Facts = { type: c.type(0), shape: [n] };
      if (n <= VALUE_LIMIT) f.value = Array.from({ length: n }, (_, i) => s[0] + i * d[0]);
      return [f];
    }
    return [{ type: c.type(0), shape: [freshDim()] }];
  };

  r.Reshape = (c) => {
    const target = c.value(1);
    const allowZero = c.attrInt('allowzero', 0) === 1;
    let shape: Dim[] | undefined;
    if (target) shape = reshape(c.shape(0), target, allowZero);
    else {
      const k = c.shape(1)?.[0];
      shape = typeof k === 'number' ? fresh(k) : undefined;
    }
    const f: Facts = { type: c.type(0), shape };
    if (c.value(0) && shape && shape.length <= 1) f.value = c.value(0);
    return [f];
  };

  r.Flatten = (c) => {
    const s = c.shape(0);
    if (!s) return [{ type: c.type(0), shape: [freshDim(), freshDim()] }];
    const axis = normalizeAxis(c.attrInt('axis', 1), s.length);
    return [{ type: c.type(0), shape: [productOf(s.slice(0, axis)), productOf(s.slice(axis))] }];
  };

  r.Transpose = (c) => {
    const s = c.shape(0);
    if (!s) return [{ type: c.type(0) }];
    const perm = c.attrInts('perm') ?? s.map((_, i) => s.length - 1 - i);
    return [{ type: c.type(0), shape: perm.map((p) => s[p]) }];
  };

  r.Squeeze = (c) => {
    const s = c.shape(0);
    const axes = c.axes(1);
    if (!s || axes === 'unknown') return [{ type: c.type(0) }];
    let keep: boolean[];
    if (axes === undefined) {
      if (s.some((d) => typeof d !== 'number')) return [{ type: c.type(0) }];
      keep = s.map((d) => d !== 1);
    } else {
      const norm = axes.map((a) => normalizeAxis(a, s.length));
      keep = s.map((_, i) => !norm.includes(i));
    }
    const f: Facts = { type: c.type(0), shape: s.filter((_, i) => keep[i]) };
    if (c.value(0)) f.value = c.value(0);
    return [f];
  };

  r.Unsqueeze = (c) => {
    const s = c.shape(0);
    const axes = c.axes(1);
    if (!s || axes === 'unknown' || axes === undefined) return [{ type: c.type(0) }];
    const rank = s.length + axes.length;
    const norm = axes.map((a) => normalizeAxis(a, rank));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : s[k++]);
    const f: Facts = { type: c.type(0), shape: out };
    if (c.value(0) && out.length <= 1) f.value = c.value(0);
    return [f];
  };

  r.Concat = (c) => {
    const shapes = c.node.inputs.map((_, i) => c.shape(i));
    const first = shapes.find((s) => s);
    if (!first || shapes.some((s) => !s)) return [{ type: c.type(0), shape: first && fresh(first.length) }];
    const axis = normalizeAxis(c.attrInt('axis', 0), first.length);
    const out = [...first];
    out[axis] = shapes.slice(1).reduce((acc: Dim, s) => addDim(acc, s![axis]), first[axis]);
    const f: Facts = { type: c.type(0), shape: out };
    const values = c.node.inputs.map((_, i) => c.value(i));
    if (out.length === 1 && values.every((v) => v)) f.value = values.flatMap((v) => v!);
    return [f];
  };

  r.Split = (c) => {
    const s = c.shape(0);
    const n = c.node.outputs.length;
    if (!s) return c.node.outputs.map(() => ({ type: c.type(0) }));
    const axis = normalizeAxis(c.attrInt('axis', 0), s.length);
    const sizes: Dim[] | undefined = c.has(1) ? c.ints(1) : c.attrInts('split');
    return c.node.outputs.map((_, i) => {
      const out = [...s];
      if (sizes) out[axis] = sizes[i];
      else {
        const d = s[axis];
        out[axis] = typeof d === 'number' ? Math.ceil(d / n) - (i === n - 1 ? Math.ceil(d / n) * n - d : 0) : divDim(d, n);
      }
      return { type: c.type(0), shape: out };
    });
  };

  r.Slice = (c) => {
    const s = c.shape(0);
    if (!s) return [{ type: c.type(0) }];
    const p = sliceParams(c, s.length);
    if (!p) {
      // Starts or ends known only at run time: the axes that are not sliced keep their dims.
      const count = c.shape(1)?.[0];
      const axes = c.has(3) ? c.ints(3) : typeof count === 'number' ? Array.from({ length: count }, (_, i) => i) : undefined;
      if (!axes) return [{ type: c.type(0), shape: fresh(s.length) }];
      const sliced = new Set(axes.map((a) => normalizeAxis(a, s.length)));
      return [{ type: c.type(0), shape: s.map((d, i) => (sliced.has(i) ? freshDim() : d)) }];
    }
    const out = [...s];
    p.axes.forEach((a, i) => (out[a] = sliceDim(s[a], p.starts[i], p.ends[i], p.steps[i])));
    const f: Facts = { type: c.type(0), shape: out };
    const v = c.value(0);
    if (v && s.length === 1 && typeof s[0] === 'number') {
      const vals: Dim[] = [];
      const d = s[0];
      const step = p.steps[0];
      // ONNX's clamping: [0, d] going forward, [-1, d - 1] going backward.
      const [lo, hi] = step > 0 ? [0, d] : [-1, d - 1];
      const clamp = (x: number) => Math.min(Math.max(x < 0 ? x + d : x, lo), hi);
      const st = clamp(p.starts[0]);
      const en = clamp(p.ends[0]);
      for (let k = st; step > 0 ? k < en : k > en; k += step) vals.push(v[k]);
      f.value = vals;
    }
    return [f];
  };

  r.Gather = (c) => {
    const s = c.shape(0);
    const idx = c.shape(1);
    if (!s || !idx) return [{ type: c.type(0) }];
    const axis = normalizeAxis(c.attrInt('axis', 0), s.length);
    const f: Facts = { type: c.type(0), shape: [...s.slice(0, axis), ...idx, ...s.slice(axis + 1)] };
    const v = c.value(0);
    const iv = c.ints(1);
    if (v && iv && s.length === 1) f.value = iv.map((i) => v[i < 0 ? i + v.length : i]);
    return [f];
  };

  r.GatherElements = (c) => [{ type: c.type(0), shape: c.shape(1) }];
  r.ScatterElements = (c) => [{ type: c.type(0), shape: c.shape(0) }];
  r.ScatterND = r.ScatterElements;

  r.GatherND = (c) => {
    // indices [..., k] pick slices of data after its batch_dims leading axes.
    const data = c.shape(0);
    const idx = c.shape(1);
    if (!data || !idx) return [{ type: c.type(0) }];
    const k = idx[idx.length - 1];
    if (typeof k !== 'number') return [{ type: c.type(0) }];
    const batch = c.attrInt('batch_dims', 0);
    return [{ type: c.type(0), shape: [...idx.slice(0, -1), ...data.slice(batch + k)] }];
  };

  r.Expand = (c) => {
    const target = c.value(1);
    if (target) return [{ type: c.type(0), shape: broadcastShapes([c.shape(0), target], true) }];
    const k = c.shape(1)?.[0];
    const rank = c.rank(0);
    if (typeof k === 'number' && rank !== undefined) return [{ type: c.type(0), shape: fresh(Math.max(k, rank)) }];
    return [{ type: c.type(0) }];
  };

  r.Tile = (c) => {
    const s = c.shape(0);
    const reps = c.ints(1);
    if (!s) return [{ type: c.type(0) }];
    return [{ type: c.type(0), shape: s.map((d, i) => (reps ? (typeof d === 'number' ? d * reps[i] : reps[i] === 1 ? d : freshDim()) : freshDim())) }];
  };

  r.Pad = (c) => {
    const s = c.shape(0);
    const pads = c.ints(1) ?? c.attrInts('pads');
    if (!s) return [{ type: c.type(0) }];
    if (!pads) return [{ type: c.type(0), shape: fresh(s.length) }];
    const axes = c.has(3) ? c.ints(3)?.map((a) => normalizeAxis(a, s.length)) : s.map((_, i) => i);
    if (!axes) return [{ type: c.type(0), shape: fresh(s.length) }];
    const out = [...s];
    axes.forEach((a, i) => (out[a] = addDim(addDim(s[a], pads[i]), pads[i + axes.length])));
    return [{ type: c.type(0), shape: out }];
  };

  r.NonZero = (c) => [{ type: DataType.INT64, shape: [c.rank(0) ?? freshDim(), freshDim()] }];

  r.OneHot = (c) => {
    const s = c.shape(0);
    if (!s) return [{ type: c.type(2) }];
    const depth = c.ints(1)?.[0] ?? freshDim();
    const rank = s.length + 1;
    const axis = normalizeAxis(c.attrInt('axis', -1), rank);
    const out = [...s];
    out.splice(axis, 0, depth);
    return [{ type: c.type(2), shape: out }];
  };

  r.EyeLike = (c) => [{ type: c.attrInt('dtype', c.type(0)) as DataType, shape: c.shape(0) }];

  r.TopK = (c) => {
    const s = c.shape(0);
    if (!s) return [{ type: c.type(0) }, { type: DataType.INT64 }];
    const axis = normalizeAxis(c.attrInt('axis', -1), s.length);
    const out = [...s];
    out[axis] = c.ints(1)?.[0] ?? freshDim();
    return [{ type: c.type(0), shape: out }, { type: DataType.INT64, shape: out }];
  };

  r.ReverseSequence = (c) => [{ type: c.type(0), shape: c.shape(0) }];
  return r;
}
