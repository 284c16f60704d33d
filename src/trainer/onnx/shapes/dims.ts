// Arithmetic on symbolic dimensions. A dimension is a number, or a string: a symbol from the
// model ("batch"), a product of symbols in canonical form ("2*N*S"), or a fresh unknown ("?7").
// Products matter because Reshape to [-1, H] and back is how attention layers move dims around.

import type { Dim } from '../graph';

let freshCounter = 0;

/** A new symbol that equals no other dimension. */
export function freshDim(): string {
  return `?${++freshCounter}`;
}

interface Product {
  coef: number;
  syms: string[];
}

function toProduct(d: Dim): Product {
  if (typeof d === 'number') return { coef: d, syms: [] };
  if (d.startsWith('?') || !d.includes('*')) return { coef: 1, syms: [d] };
  const out: Product = { coef: 1, syms: [] };
  for (const part of d.split('*')) {
    const n = Number(part);
    if (part !== '' && Number.isFinite(n)) out.coef *= n;
    else out.syms.push(part);
  }
  return out;
}

function fromProduct(p: Product): Dim {
  if (p.syms.length === 0) return p.coef;
  const syms = [...p.syms].sort();
  return (p.coef === 1 ? '' : `${p.coef}*`) + syms.join('*');
}

export function mulDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 0 || b === 0) return 0;
  const pa = toProduct(a);
  const pb = toProduct(b);
  return fromProduct({ coef: pa.coef * pb.coef, syms: [...pa.syms, ...pb.syms] });
}

/** a / b when the division is exact in symbols; otherwise a fresh symbol. */
export function divDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : freshDim();
  const pa = toProduct(a);
  const pb = toProduct(b);
  if (pb.coef === 0 || pa.coef % pb.coef !== 0) return freshDim();
  const syms = [...pa.syms];
  for (const s of pb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return freshDim();
    syms.splice(i, 1);
  }
  return fromProduct({ coef: pa.coef / pb.coef, syms });
}

export function addDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return freshDim();
}

export function subDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (b === 0) return a;
  return freshDim();
}

export function productOf(dims: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of dims) p = mulDim(p, d);
  return p;
}

export function isStatic(shape: readonly Dim[] | undefined): shape is number[] {
  return !!shape && shape.every((d) => typeof d === 'number');
}

/** What is known about two dims being equal at run time. */
export type DimRelation = 'equal' | 'different' | 'unknown';

export function compareDims(a: Dim, b: Dim): DimRelation {
  if (a === b) return 'equal';
  if (typeof a === 'number' && typeof b === 'number') return 'different';
  return 'unknown';
}

/**
 * Shapes that cannot broadcast: two different static dims, neither 1. onnxruntime refuses to run
 * such a graph too, so it is a defect of the file (an exporter's), not of the inference.
 */
export class ShapeMismatchError extends Error {}

/**
 * Multidirectional (numpy) broadcasting of shapes. Symbols broadcast against 1 and against
 * themselves; a symbol against a number other than 1 must equal that number. Two different
 * numbers, neither 1, throw ShapeMismatchError unless `lenient` (Expand's target: a value this
 * inference computed, which an exporter's shape arithmetic may leave inexact where it is unused).
 */
export function broadcastShapes(shapes: readonly (readonly Dim[] | undefined)[], lenient = false): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s!.length - rank + i;
      if (k < 0) continue;
      const next = s![k];
      if (!lenient && typeof d === 'number' && typeof next === 'number' && d !== next && d !== 1 && next !== 1) {
        throw new ShapeMismatchError(`shapes ${shapes.map((x) => `[${x!.join(', ')}]`).join(' and ')} do not broadcast (axis ${i - rank}: ${d} against ${next})`);
      }
      d = broadcastDim(d, next);
    }
    out.push(d);
  }
  return out;
}

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  // Two different symbols: each is 1 or they are equal; keep the first, it is the likelier name.
  return a;
}

export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
