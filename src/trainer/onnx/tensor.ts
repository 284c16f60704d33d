// In-memory tensors of the engine: ONNX element types, typed arrays, and conversions to and from
// onnxruntime-node's type names. Everything else in the engine speaks these types.

/** ONNX TensorProto.DataType values used by the engine. */
export enum DataType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  BFLOAT16 = 16,
}

export type TensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** A dense tensor held in JavaScript memory. BOOL and UINT8 use Uint8Array, FLOAT16 Uint16Array. */
export interface Tensor {
  type: DataType;
  dims: number[];
  data: TensorData;
}

interface TypeInfo {
  name: string;
  ort: string;
  bytes: number;
  make: (n: number) => TensorData;
  view: (buf: ArrayBuffer, byteOffset: number, n: number) => TensorData;
}

const TYPES: Partial<Record<DataType, TypeInfo>> = {
  [DataType.FLOAT]: { name: 'float32', ort: 'float32', bytes: 4, make: (n) => new Float32Array(n), view: (b, o, n) => new Float32Array(b, o, n) },
  [DataType.DOUBLE]: { name: 'float64', ort: 'float64', bytes: 8, make: (n) => new Float64Array(n), view: (b, o, n) => new Float64Array(b, o, n) },
  [DataType.INT64]: { name: 'int64', ort: 'int64', bytes: 8, make: (n) => new BigInt64Array(n), view: (b, o, n) => new BigInt64Array(b, o, n) },
  [DataType.UINT64]: { name: 'uint64', ort: 'uint64', bytes: 8, make: (n) => new BigUint64Array(n), view: (b, o, n) => new BigUint64Array(b, o, n) },
  [DataType.INT32]: { name: 'int32', ort: 'int32', bytes: 4, make: (n) => new Int32Array(n), view: (b, o, n) => new Int32Array(b, o, n) },
  [DataType.UINT32]: { name: 'uint32', ort: 'uint32', bytes: 4, make: (n) => new Uint32Array(n), view: (b, o, n) => new Uint32Array(b, o, n) },
  [DataType.INT16]: { name: 'int16', ort: 'int16', bytes: 2, make: (n) => new Int16Array(n), view: (b, o, n) => new Int16Array(b, o, n) },
  [DataType.UINT16]: { name: 'uint16', ort: 'uint16', bytes: 2, make: (n) => new Uint16Array(n), view: (b, o, n) => new Uint16Array(b, o, n) },
  [DataType.INT8]: { name: 'int8', ort: 'int8', bytes: 1, make: (n) => new Int8Array(n), view: (b, o, n) => new Int8Array(b, o, n) },
  [DataType.UINT8]: { name: 'uint8', ort: 'uint8', bytes: 1, make: (n) => new Uint8Array(n), view: (b, o, n) => new Uint8Array(b, o, n) },
  [DataType.BOOL]: { name: 'bool', ort: 'bool', bytes: 1, make: (n) => new Uint8Array(n), view: (b, o, n) => new Uint8Array(b, o, n) },
  [DataType.FLOAT16]: { name: 'float16', ort: 'float16', bytes: 2, make: (n) => new Uint16Array(n), view: (b, o, n) => new Uint16Array(b, o, n) },
  [DataType.BFLOAT16]: { name: 'bfloat16', ort: 'bfloat16', bytes: 2, make: (n) => new Uint16Array(n), view: (b, o, n) => new Uint16Array(b, o, n) },
};

function info(type: DataType): TypeInfo {
  const t = TYPES[type];
  if (!t) throw new Error(`ONNX element type ${DataType[type] ?? type} is not supported by Trainer`);
  return t;
}

export function typeName(type: DataType): string {
  return TYPES[type]?.name ?? DataType[type] ?? `type ${type}`;
}

export function ortTypeName(type: DataType): string {
  return info(type).ort;
}

export function dataTypeFromOrt(name: string): DataType {
  for (const [k, v] of Object.entries(TYPES)) if (v && v.ort === name) return Number(k) as DataType;
  throw new Error(`unknown onnxruntime tensor type ${name}`);
}

export function bytesPerElement(type: DataType): number {
  return info(type).bytes;
}

export function isFloatType(type: DataType): boolean {
  return type === DataType.FLOAT || type === DataType.DOUBLE || type === DataType.FLOAT16 || type === DataType.BFLOAT16;
}

/** float32 or float64: the types whose range a rewrite may lean on (not float16's or bfloat16's). */
export function isFullPrecisionFloat(type: DataType): boolean {
  return type === DataType.FLOAT || type === DataType.DOUBLE;
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function allocate(type: DataType, n: number): TensorData {
  return info(type).make(n);
}

/** A tensor of zeros. */
export function zeros(type: DataType, dims: number[]): Tensor {
  return { type, dims: [...dims], data: allocate(type, sizeOf(dims)) };
}

/**
 * Copies little-endian bytes (possibly unaligned, e.g. a slice of a protobuf buffer) into a new
 * typed array. A copy is needed because typed arrays require aligned offsets.
 */
export function fromBytes(type: DataType, bytes: Uint8Array, n: number): TensorData {
  const t = info(type);
  const expected = n * t.bytes;
  if (bytes.byteLength !== expected) {
    throw new Error(`tensor holds ${bytes.byteLength} bytes, expected ${expected} for ${n} × ${t.name}`);
  }
  const buf = new ArrayBuffer(expected);
  new Uint8Array(buf).set(bytes);
  return t.view(buf, 0, n);
}

export function toBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of a float32 value (round to nearest even). */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const rest = mant & 0x1fff;
  let half = (e << 10) | (mant >>> 13);
  // Rounding up may carry into the exponent (and up to infinity), as it should.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** bfloat16 bits of a float32 value (round to nearest even). */
export function bfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if (Number.isNaN(value)) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float32 value of IEEE half-precision bits. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reads a tensor's elements as JavaScript numbers (int64 converted; exact below 2^53). */
export function toNumbers(t: Tensor): number[] {
  const out: number[] = new Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = elementValue(t, i);
  return out;
}

/** Element i as a number, decoding half-precision bit patterns. */
export function elementValue(t: Tensor, i: number): number {
  const v = Number(t.data[i]);
  if (t.type === DataType.FLOAT16) return fromFloat16Bits(v);
  if (t.type === DataType.BFLOAT16) {
    u32[0] = v << 16;
    return f32[0];
  }
  return v;
}

/** Builds a tensor from plain numbers (half-precision types get their bit patterns). */
export function fromNumbers(type: DataType, dims: number[], values: ArrayLike<number>): Tensor {
  const data = allocate(type, values.length);
  const half = type === DataType.FLOAT16 ? float16Bits : type === DataType.BFLOAT16 ? bfloat16Bits : undefined;
  if (half) {
    for (let i = 0; i < values.length; i++) (data as Uint16Array)[i] = half(values[i]);
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i]));
  } else {
    for (let i = 0; i < values.length; i++) (data as Float32Array)[i] = values[i];
  }
  if (sizeOf(dims) !== values.length) throw new Error(`${values.length} values do not fill dims [${dims}]`);
  return { type, dims: [...dims], data };
}

export function scalarTensor(type: DataType, value: number): Tensor {
  return fromNumbers(type, [], [value]);
}

export function cloneTensor(t: Tensor): Tensor {
  return { type: t.type, dims: [...t.dims], data: t.data.slice() };
}
