// Mixed precision (fp16 / bf16), as PyTorch's autocast + GradScaler do it for Hugging Face:
// the forward and backward passes run in half precision while parameters, optimizer state and
// the loss stay float32. Parameters and float inputs enter the forward graph through Casts, the
// graph's own float constants and Cast targets become half, and the logits are cast back to
// float32 for the loss. fp16 also scales the loss (loop/gradScaler.ts); a step whose gradients
// overflow is skipped.

import { Graph, Node } from '../onnx/graph';
import { DataType, Tensor, bfloat16Bits, float16Bits } from '../onnx/tensor';

export type Precision = 'fp32' | 'fp16' | 'bf16';

/** TrainingArguments' fp16 / bf16 flags (validation keeps them exclusive). */
export function precisionOf(args: { fp16: boolean; bf16: boolean }): Precision {
  return args.fp16 ? 'fp16' : args.bf16 ? 'bf16' : 'fp32';
}

/**
 * Why `precision` cannot run on `device`, or undefined. onnxruntime's CPU provider has float16
 * kernels for some operators (and runs the others in float32 behind casts) but no bfloat16 ones.
 */
export function precisionUnsupported(precision: Precision, device: 'cpu' | 'cuda'): string | undefined {
  if (precision === 'bf16' && device === 'cpu') return 'bf16 needs the CUDA execution provider: onnxruntime\'s CPU provider has no bfloat16 kernels (use fp16, or float32)';
  return undefined;
}

export function halfType(p: Precision): DataType | undefined {
  return p === 'fp16' ? DataType.FLOAT16 : p === 'bf16' ? DataType.BFLOAT16 : undefined;
}

function toHalfTensor(t: Tensor, half: DataType): Tensor {
  const bits = half === DataType.FLOAT16 ? float16Bits : bfloat16Bits;
  return { type: half, dims: [...t.dims], data: Uint16Array.from(t.data as Float32Array, bits) };
}

/**
 * Converts `graph`'s forward part to half precision in place. `keep` are the float32 inputs that
 * stay float32 (batch-norm running statistics: only their float32 update reads them); every
 * other float32 input (parameters, features) is read through a Cast.
 */
export function toHalfPrecision(graph: Graph, half: DataType, keep: ReadonlySet<string>): void {
  for (const [name, t] of graph.initializers) if (t.type === DataType.FLOAT) graph.initializers.set(name, toHalfTensor(t, half));
  for (const n of graph.nodes) convertNode(n, half);
  const casts: Node[] = [];
  const renamed = new Map<string, string>();
  for (const input of graph.inputs) {
    if (input.type !== DataType.FLOAT || keep.has(input.name)) continue;
    const name = `${input.name}__${half === DataType.FLOAT16 ? 'fp16' : 'bf16'}`;
    renamed.set(input.name, name);
    casts.push({ name: `${name}_cast`, op: 'Cast', domain: '', inputs: [input.name], outputs: [name], attrs: new Map([['to', { kind: 'int', value: half }]]) });
  }
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => renamed.get(i) ?? i);
  graph.nodes = [...casts, ...graph.nodes];
  // The graph's outputs are what its nodes now produce (half); the caller casts the logits back.
  graph.outputs = graph.outputs.map((o) => ({ ...o, type: o.type === DataType.FLOAT ? half : o.type }));
}

function convertNode(n: Node, half: DataType): void {
  for (const [key, a] of n.attrs) {
    if (a.kind === 'tensor' && a.value.type === DataType.FLOAT) n.attrs.set(key, { kind: 'tensor', value: toHalfTensor(a.value, half) });
    // Casts to float32 (an attention mask made float) now make half; so do random-number dtypes.
    if ((key === 'to' || key === 'dtype') && a.kind === 'int' && a.value === DataType.FLOAT) n.attrs.set(key, { kind: 'int', value: half });
  }
}
