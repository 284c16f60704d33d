// The safetensors format (github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian data.
// Written here because the format is a page long and no maintained npm package writes it.

import * as fs from 'node:fs';
import { DataType, Tensor, allocate, sizeOf, toBytes } from './tensor';
import { readFully, writeFileDurably } from '../io/durable';

const DTYPES: [DataType, string][] = [
  [DataType.FLOAT, 'F32'], [DataType.DOUBLE, 'F64'], [DataType.FLOAT16, 'F16'], [DataType.BFLOAT16, 'BF16'],
  [DataType.INT64, 'I64'], [DataType.INT32, 'I32'], [DataType.INT16, 'I16'], [DataType.INT8, 'I8'],
  [DataType.UINT8, 'U8'], [DataType.UINT16, 'U16'], [DataType.UINT32, 'U32'], [DataType.UINT64, 'U64'], [DataType.BOOL, 'BOOL'],
];

export interface SafetensorsLayout {
  /** Byte offset of each tensor's data from the start of the file. */
  offsets: Map<string, { offset: number; length: number }>;
}

/**
 * Serializes tensors (in the given order) with optional string metadata, as the pieces of the
 * file: the header, then each tensor's own bytes (not copied into one buffer, which would hold the
 * weights twice and cannot exceed 4 GB).
 */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): { chunks: Uint8Array[]; layout: SafetensorsLayout } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const dtype = DTYPES.find(([d]) => d === t.type)?.[1];
    if (!dtype) throw new Error(`tensor "${name}" has a type safetensors cannot store`);
    const data = toBytes(t.data);
    header[name] = { dtype, shape: t.dims, data_offsets: [offset, offset + data.byteLength] };
    parts.push(data);
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header so the data starts 8-byte aligned, as the reference implementation does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  const start = 8 + head.length;
  const layout: SafetensorsLayout = { offsets: new Map() };
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = (info as { data_offsets: [number, number] }).data_offsets;
    layout.offsets.set(name, { offset: start + b, length: e - b });
  }
  return { chunks: [len, head, ...parts], layout };
}

export function writeSafetensors(file: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): SafetensorsLayout {
  const { chunks, layout } = encodeSafetensors(tensors, metadata);
  writeFileDurably(file, chunks);
  return layout;
}

export class SafetensorsError extends Error {}

/**
 * Reads every tensor of a safetensors file, each straight into its own memory (the file is never
 * held whole: weights are in memory once, and files over 2 GB read like any other).
 */
export function readSafetensors(file: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(`${file} is too short to be a safetensors file`);
    const lengthBytes = Buffer.alloc(8);
    readFully(fd, lengthBytes, 0);
    const n = Number(lengthBytes.readBigUInt64LE(0));
    if (8 + n > size) throw new SafetensorsError(`${file} is truncated (header of ${n} bytes)`);
    const headerBytes = Buffer.alloc(n);
    readFully(fd, headerBytes, 8);
    let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch {
      throw new SafetensorsError(`${file} has an unreadable header`);
    }
    const tensors = new Map<string, Tensor>();
    let metadata: Record<string, string> = {};
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = info as Record<string, string>;
        continue;
      }
      const { dtype, shape, data_offsets: [b, e] } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const type = DTYPES.find(([, s]) => s === dtype)?.[0];
      if (type === undefined) throw new SafetensorsError(`${file}: tensor "${name}" has unsupported dtype ${dtype}`);
      if (8 + n + e > size) throw new SafetensorsError(`${file} is truncated (tensor "${name}")`);
      const data = allocate(type, sizeOf(shape));
      if (data.byteLength !== e - b) throw new SafetensorsError(`${file}: tensor "${name}" holds ${e - b} bytes, expected ${data.byteLength} for ${dtype} [${shape}]`);
      readFully(fd, toBytes(data), 8 + n + b);
      tensors.set(name, { type, dims: shape, data });
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}
