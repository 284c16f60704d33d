// What an exported file cannot say about the PyTorch model it came from: weights PyTorch tied
// (one parameter) are written as separate copies, and eval-mode exports fold BatchNorm into the
// preceding Conv. Trainer detects both, warns, and for copies offers `model.tie_identical`.

import { Graph } from '../onnx/graph';
import { Tensor, allocate, bytesPerElement, isFloatType } from '../onnx/tensor';
import { isExporterName } from './decay';

/** `copy` holds the same values as `of` (or its transpose, for matrices). */
export interface TensorCopy {
  copy: string;
  of: string;
  transposed: boolean;
}

const SAMPLES = 16;

/** Initializers (rank ≥ 2) that are bit-identical copies or transposes of an earlier one. */
export function findCopies(graph: Graph, names: readonly string[]): TensorCopy[] {
  const tensors = names.map((n) => [n, graph.initializers.get(n)!] as const).filter(([, t]) => t && isFloatType(t.type) && t.dims.length >= 2);
  const copies: TensorCopy[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < tensors.length; i++) {
    const [a, ta] = tensors[i];
    if (taken.has(a)) continue;
    for (let j = i + 1; j < tensors.length; j++) {
      const [c, tc] = tensors[j];
      if (taken.has(c) || tc.type !== ta.type || tc.data.length !== ta.data.length) continue;
      if (sameDims(ta.dims, tc.dims) && identical(ta, tc)) {
        copies.push({ copy: c, of: a, transposed: false });
        taken.add(c);
      } else if (ta.dims.length === 2 && tc.dims.length === 2 && ta.dims[0] === tc.dims[1] && ta.dims[1] === tc.dims[0] && transposeOf(ta, tc)) {
        copies.push({ copy: c, of: a, transposed: true });
        taken.add(c);
      }
    }
  }
  return copies;
}

/**
 * The copy's values, derived from its source whenever read (`source()` returns the source's
 * tensor as it is then) instead of kept: once the copy is trained as its source, nothing trains
 * or feeds it, and keeping it held its bytes for the whole run (Qwen2.5-0.5B's transposed LM
 * head: 545 MB). Export writes it from the trained source (export.ts, withCopies).
 */
export function derivedCopy(t: TensorCopy, source: () => Tensor): Tensor {
  const first = source();
  const dims = t.transposed ? [first.dims[1], first.dims[0]] : [...first.dims];
  return {
    type: first.type,
    dims,
    get data() {
      const src = source();
      return t.transposed ? transposed(src).data : src.data;
    },
  };
}

/** A matrix's transpose, as a new tensor. */
export function transposed(m: Tensor): Tensor {
  const [rows, cols] = m.dims;
  const data = allocate(m.type, m.data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = m.data[r * cols + c];
  return { type: m.type, dims: [cols, rows], data };
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function identical(a: Tensor, b: Tensor): boolean {
  const n = a.data.length;
  // A few spread-out elements rule out almost every pair before the full comparison.
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor((k * (n - 1)) / (SAMPLES - 1));
    if (a.data[i] !== b.data[i]) return false;
  }
  const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length * bytesPerElement(t.type));
  return bytes(a).equals(bytes(b));
}

function transposeOf(a: Tensor, b: Tensor): boolean {
  const [rows, cols] = a.dims;
  const n = rows * cols;
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor((k * (n - 1)) / (SAMPLES - 1));
    const r = Math.floor(i / cols);
    if (a.data[i] !== b.data[(i % cols) * rows + r]) return false;
  }
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (a.data[r * cols + c] !== b.data[c * rows + r]) return false;
  return true;
}

/**
 * Conv nodes that carry a folded BatchNorm: with no BatchNormalization left in the graph, a Conv
 * whose bias is new (the dynamo exporter's fusion names it `<weight>_bias`) or whose weight and
 * bias both lost their PyTorch names (TorchScript's eval-mode folding writes new tensors).
 */
export function foldedBatchNormConvs(graph: Graph): string[] {
  if (graph.nodes.some((n) => n.op === 'BatchNormalization')) return [];
  return graph.nodes.filter((n) => {
    if (n.op !== 'Conv' || !n.inputs[2]) return false;
    const [, w, bias] = n.inputs;
    if (!graph.initializers.has(w) || !graph.initializers.has(bias)) return false;
    return bias === `${w}_bias` || (isExporterName(w) && isExporterName(bias) && w.startsWith('onnx::'));
  }).map((n) => n.name);
}

/** Warnings about what this file cannot reproduce of PyTorch's training, one line each. */
export function fileWarnings(graph: Graph, params: readonly string[], tied: boolean): string[] {
  const out: string[] = [];
  const folded = foldedBatchNormConvs(graph);
  if (folded.length) {
    out.push(`${folded.length} Conv node(s) (${folded.slice(0, 2).join(', ')}${folded.length > 2 ? ', …' : ''}) carry BatchNorm folded into their weights by an eval-mode export, ` +
      'so batch statistics cannot be trained from this file; export with training=torch.onnx.TrainingMode.TRAINING (or dynamo=True, optimize=False) to keep BatchNormalization');
  }
  const copies = findCopies(graph, params);
  if (copies.length && !tied) {
    const c = copies[0];
    out.push(`${copies.length} initializer(s) are exact copies of another (e.g. "${c.copy}" = ${c.transposed ? 'the transpose of ' : ''}"${c.of}"); ` +
      'PyTorch may have tied them (one parameter), but they train separately: set model.tie_identical: true to train each group as one parameter');
  }
  return out;
}
