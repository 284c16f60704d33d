// Shape inference for elementwise and broadcasting operators, with value propagation for the
// integer arithmetic that exporters use on shapes.

import { Dim } from '../graph';
import { DataType } from '../tensor';
import { addDim, broadcastShapes, divDim, mulDim, subDim } from './dims';
import { Facts, InferCtx, InferFn } from './facts';

const sameAsInput0: InferFn = (c) => c.node.outputs.map(() => c.in(0) && { type: c.type(0), shape: c.shape(0) });

const UNARY = [
  'Neg', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Relu', 'LeakyRelu', 'Erf', 'Gelu', 'Abs',
  'Sign', 'Floor', 'Ceil', 'Round', 'Softplus', 'Softsign', 'Sin', 'Cos', 'Elu', 'Selu', 'HardSigmoid',
  'HardSwish', 'Softmax', 'LogSoftmax', 'Clip', 'Identity', 'CumSum', 'Trilu', 'BitwiseNot',
  'Mish', 'ThresholdedRelu', 'Celu', 'Hardmax', 'PRelu', 'Tan', 'Sinh', 'Cosh', 'Atan', 'InstanceNormalization',
  'GroupNormalization',
];

const BOOL_UNARY = ['IsNaN', 'IsInf'];

const ARITH = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'BitShift',
  'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'And', 'Or', 'Xor'];

const COMPARE = ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual'];

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
  for (const op of BOOL_UNARY) r[op] = (c) => [c.in(0) && { type: DataType.BOOL, shape: c.shape(0) }];
  for (const op of ARITH) {
    r[op] = (c) => {
      const out: Facts = { type: c.type(0), shape: broadcastAll(c) };
      if (c.node.inputs.length === 2 && (c.type(0) === DataType.INT64 || c.type(0) === DataType.INT32)) {
        const v = arithValue(op, c.value(0), c.value(1));
        if (v) out.value = v;
      }
      return [out];
    };
  }
  for (const op of COMPARE) r[op] = (c) => [{ type: DataType.BOOL, shape: broadcastAll(c), value: op === 'Equal' ? equalValue(c.value(0), c.value(1)) : undefined }];
  r.Not = (c) => [c.in(0) && { type: DataType.BOOL, shape: c.shape(0), value: c.value(0)?.every((v) => v === 0 || v === 1) ? c.value(0)!.map((v) => 1 - (v as number)) : undefined }];
  r.Where = (c) => [{ type: c.type(1), shape: broadcastAll(c) }];
  r.Cast = (c) => [{ type: c.attrInt('to', DataType.FLOAT) as DataType, shape: c.shape(0), value: intCastValue(c) }];
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
    else return undefined;
  }
  return out;
}
