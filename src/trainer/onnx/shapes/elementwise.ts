// Shape inference for elementwise and broadcasting operators, with value propagation for the
// integer arithmetic that exporters use on shapes, and for the small float arithmetic TorchScript
// traces into shapes (DINOv2's `int(num_positions ** 0.5)`, sizes computed through Cast to float).

import { Dim } from '../graph';
import { DataType } from '../tensor';
import { addDim, broadcastShapes, divDim, mulDim, subDim } from './dims';
import { Facts, InferCtx, InferFn } from './facts';

const sameAsInput0: InferFn = (c) => c.node.outputs.map(() => c.in(0) && { type: c.type(0), shape: c.shape(0) });

/** Operators whose output has their first operand's shape (GraphBuilder.shapeOf reads them too). */
export const UNARY = [
  'Neg', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Relu', 'LeakyRelu', 'Erf', 'Gelu', 'Abs',
  'Sign', 'Floor', 'Ceil', 'Round', 'Softplus', 'Softsign', 'Sin', 'Cos', 'Elu', 'Selu', 'HardSigmoid',
  'HardSwish', 'Softmax', 'LogSoftmax', 'Clip', 'Identity', 'CumSum', 'Trilu', 'BitwiseNot',
  'Mish', 'ThresholdedRelu', 'Celu', 'Hardmax', 'PRelu', 'Tan', 'Sinh', 'Cosh', 'Atan', 'InstanceNormalization',
  'GroupNormalization', 'Shrink',
];

const BOOL_UNARY = ['IsNaN', 'IsInf'];

const ARITH = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'BitShift',
  'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'And', 'Or', 'Xor'];

const COMPARE = ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual'];

/** Operators whose output broadcasts all their operands. */
export const BROADCASTING = [...ARITH, ...COMPARE, 'Where'];

function broadcastAll(c: InferCtx): Dim[] | undefined {
  const shapes = c.node.inputs.map((_, i) => c.shape(i));
  return broadcastShapes(shapes);
}

function numeric(f: (x: number, y: number) => number) {
  return (x: Dim, y: Dim): Dim | undefined => (typeof x === 'number' && typeof y === 'number' ? f(x, y) : x === y ? x : undefined);
}

const VALUE_ARITH: Record<string, (x: Dim, y: Dim) => Dim | undefined> = {
  Add: addDim,
  Sub: subDim,
  Mul: mulDim,
  Div: (x, y) => (typeof x === 'number' && typeof y === 'number' ? Math.trunc(x / y) : divDim(x, y)),
  Max: numeric(Math.max),
  Min: numeric(Math.min),
};

/** Float arithmetic on known small float tensors, rounded to float32 where the graph computes in it. */
const FLOAT_ARITH: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
  Pow: Math.pow,
  Max: Math.max,
  Min: Math.min,
};

const FLOAT_UNARY: Record<string, (x: number) => number> = {
  Neg: (x) => -x,
  Sqrt: Math.sqrt,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Abs: Math.abs,
  Reciprocal: (x) => 1 / x,
  Identity: (x) => x,
};

const isFloatType = (t: DataType) => t === DataType.FLOAT || t === DataType.DOUBLE;
const rounded = (t: DataType) => (t === DataType.FLOAT ? Math.fround : (x: number) => x);

function floatArith(op: string, c: InferCtx): number[] | undefined {
  const f = FLOAT_ARITH[op];
  const [a, b] = [c.in(0)?.floats, c.in(1)?.floats];
  if (!f || !a || !b || c.node.inputs.length !== 2 || !isFloatType(c.type(0))) return undefined;
  const n = Math.max(a.length, b.length);
  if ((a.length !== 1 && a.length !== n) || (b.length !== 1 && b.length !== n)) return undefined;
  const round = rounded(c.type(0));
  return Array.from({ length: n }, (_, i) => round(f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i])));
}

function arithValue(op: string, a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  const f = VALUE_ARITH[op];
  if (!a || !b || !f) return undefined;
  const n = Math.max(a.length, b.length);
  if ((a.length !== 1 && a.length !== n) || (b.length !== 1 && b.length !== n)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const d = f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]);
    if (d === undefined) return undefined;
    out.push(d);
  }
  return out;
}

export function elementwiseRules(): Record<string, InferFn> {
  const r: Record<string, InferFn> = {};
  for (const op of UNARY) r[op] = sameAsInput0;
  for (const [op, f] of Object.entries(FLOAT_UNARY)) {
    r[op] = (c) => {
      const floats = c.in(0)?.floats;
      const out = c.in(0) && { type: c.type(0), shape: c.shape(0) };
      return [out && floats && isFloatType(c.type(0)) ? { ...out, floats: floats.map((x) => rounded(c.type(0))(f(x))) } : out];
    };
  }
  for (const op of BOOL_UNARY) r[op] = (c) => [c.in(0) && { type: DataType.BOOL, shape: c.shape(0) }];
  for (const op of ARITH) {
    r[op] = (c) => {
      const out: Facts = { type: c.type(0), shape: broadcastAll(c) };
      if (c.node.inputs.length === 2 && (c.type(0) === DataType.INT64 || c.type(0) === DataType.INT32)) {
        const v = arithValue(op, c.value(0), c.value(1));
        if (v) out.value = v;
      }
      const floats = floatArith(op, c);
      if (floats) out.floats = floats;
      return [out];
    };
  }
  for (const op of COMPARE) r[op] = (c) => [{ type: DataType.BOOL, shape: broadcastAll(c), value: op === 'Equal' ? equalValue(c.value(0), c.value(1)) : undefined }];
  r.Not = (c) => [c.in(0) && { type: DataType.BOOL, shape: c.shape(0), value: c.value(0)?.every((v) => v === 0 || v === 1) ? c.value(0)!.map((v) => 1 - (v as number)) : undefined }];
  r.Where = (c) => [{ type: c.type(1), shape: broadcastAll(c), value: whereValue(c.value(0), c.value(1), c.value(2)) }];
  r.Cast = (c) => [{ type: c.attrInt('to', DataType.FLOAT) as DataType, shape: c.shape(0), value: intCastValue(c) ?? floatToIntValue(c), floats: toFloatValues(c) }];
  r.CastLike = (c) => [{ type: c.type(1), shape: c.shape(0) }];
  r.Dropout = (c) => [
    { type: c.type(0), shape: c.shape(0) },
    { type: DataType.BOOL, shape: c.shape(0) },
  ];
  r.RandomUniformLike = (c) => [{ type: c.attrInt('dtype', c.type(0)) as DataType, shape: c.shape(0) }];
  r.RandomNormalLike = r.RandomUniformLike;
  r.Identity = (c) => [c.in(0) && { ...c.in(0)! }];
  return r;
}

function intCastValue(c: InferCtx): Dim[] | undefined {
  const to = c.attrInt('to', 0);
  const isInt = (t: number) => t === DataType.INT64 || t === DataType.INT32 || t === DataType.BOOL;
  const v = c.value(0);
  if (!isInt(to) || !isInt(c.type(0)) || !v) return undefined;
  return to === DataType.BOOL ? (v.every((x) => typeof x === 'number') ? v.map((x) => (x !== 0 ? 1 : 0)) : undefined) : v;
}

/** Where of known shape values: TorchScript's `-1 → keep this size` selection before Expand. */
function whereValue(cond: Dim[] | undefined, x: Dim[] | undefined, y: Dim[] | undefined): Dim[] | undefined {
  if (!cond || !x || !y || cond.some((v) => v !== 0 && v !== 1)) return undefined;
  const n = Math.max(cond.length, x.length, y.length);
  if ([cond, x, y].some((v) => v.length !== 1 && v.length !== n)) return undefined;
  const at = (v: Dim[], i: number) => v[v.length === 1 ? 0 : i];
  return Array.from({ length: n }, (_, i) => (at(cond, i) === 1 ? at(x, i) : at(y, i)));
}

/** Cast of known floats to an integer type: truncation toward zero, as onnxruntime's cast. */
function floatToIntValue(c: InferCtx): Dim[] | undefined {
  const to = c.attrInt('to', 0);
  const floats = c.in(0)?.floats;
  if (!floats || !(to === DataType.INT64 || to === DataType.INT32) || floats.some((x) => !Number.isFinite(x))) return undefined;
  return floats.map((x) => Math.trunc(x));
}

/** Cast to a float type of known floats, or of known integers (plain numbers, not symbols). */
function toFloatValues(c: InferCtx): number[] | undefined {
  const to = c.attrInt('to', 0) as DataType;
  if (!isFloatType(to)) return undefined;
  const source = c.in(0)?.floats ?? (c.value(0)?.every((v) => typeof v === 'number') ? (c.value(0) as number[]) : undefined);
  return source?.map(rounded(to));
}

/**
 * Equal of two known shape values, element by element: the same number or the same symbol is
 * equal (a symbol names one run-time size), two different numbers are not; anything else is
 * unknown. This decides the shape checks exporters trace into `If` conditions.
 */
function equalValue(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1)) return undefined;
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y] = [a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]];
    if (x === y) out.push(1);
    else if (typeof x === 'number' && typeof y === 'number') out.push(0);
    // A symbol is a size, never negative: it differs from the -1 of "keep this axis" (expand(b, -1, -1)).
    else if ((typeof x === 'number' && x < 0) || (typeof y === 'number' && y < 0)) out.push(0);
    else return undefined;
  }
  return out;
}
