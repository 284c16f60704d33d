// Recognizes quantized models by what their weights are, not by their file name: an 8- or 4-bit
// integer initializer that a quantization operator reads (DequantizeLinear, MatMulInteger,
// MatMulNBits, …). Such weights cannot be trained by gradient steps; the float32 export can.

import { onnx } from './generated/onnx';

/** ONNX element types of quantized weights: uint8, int8, uint4, int4. */
const QUANTIZED_TYPES = new Map<number, string>([[2, 'uint8'], [3, 'int8'], [21, 'uint4'], [22, 'int4']]);

/** Operators that read quantized weights (ONNX, and onnxruntime's com.microsoft contrib ops). */
const QUANTIZED_OPS = new Set([
  'DequantizeLinear', 'MatMulInteger', 'ConvInteger', 'QLinearMatMul', 'QLinearConv', 'QGemm', 'QAttention',
  'MatMulNBits', 'MatMulBnb4', 'GatherBlockQuantized', 'DynamicQuantizeMatMul', 'QOrderedMatMul',
]);

/** Evidence that a model's weights are quantized. */
export interface QuantizedWeight {
  initializer: string;
  type: string;
  op: string;
}

/** The first quantized weight of a graph (checked on the proto, before any tensor is decoded), or undefined. */
export function findQuantizedWeight(graph: onnx.IGraphProto): QuantizedWeight | undefined {
  const types = new Map<string, string>();
  for (const t of graph.initializer ?? []) {
    const type = QUANTIZED_TYPES.get(t.dataType ?? 0);
    if (type && t.name) types.set(t.name, type);
  }
  if (types.size === 0) return undefined;
  for (const n of graph.node ?? []) {
    if (!QUANTIZED_OPS.has(n.opType ?? '')) continue;
    const weight = (n.input ?? []).find((i) => types.has(i));
    if (weight) return { initializer: weight, type: types.get(weight)!, op: n.opType! };
  }
  return undefined;
}
