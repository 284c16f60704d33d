// Einsum equations: parsing (explicit and implicit output, ellipsis) and shape inference. The
// gradient rule reads the same parsed form, so both agree on what each letter means.

import { Dim } from '../graph';
import { InferFn } from './facts';

/** An Einsum equation with every ellipsis spelled out as letters, given the operands' ranks. */
export interface EinsumTerms {
  inputs: string[];
  output: string;
}

/**
 * Parses an Einsum equation for operands of the given ranks. An ellipsis becomes letters the
 * equation does not use (so rewritten equations stay valid ONNX), aligned
 * to the right as broadcasting aligns them; an implicit output is the ellipsis followed by the
 * letters used once, in alphabetical order (numpy's rule).
 */
export function parseEinsum(equation: string, ranks: number[]): EinsumTerms {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) throw new Error(`equation "${equation}" names ${terms.length} operands, the node has ${ranks.length}`);
  const ellipsisRank = Math.max(0, ...terms.map((t, i) => (t.includes('...') ? ranks[i] - (t.length - 3) : 0)));
  const unused = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].filter((ch) => !eq.includes(ch));
  if (ellipsisRank > unused.length) throw new Error(`equation "${equation}" has too many ellipsis dims`);
  const ellipsisLetters = unused.slice(0, ellipsisRank).join('');
  const spell = (t: string, rank: number) => {
    if (!t.includes('...')) return t;
    const n = rank - (t.length - 3);
    return t.replace('...', ellipsisLetters.slice(ellipsisRank - n, ellipsisRank));
  };
  const inputs = terms.map((t, i) => spell(t, ranks[i]));
  inputs.forEach((t, i) => {
    if (t.length !== ranks[i]) throw new Error(`operand ${i} has rank ${ranks[i]} but "${terms[i]}" names ${t.length} axes`);
  });
  let output: string;
  if (rhs !== undefined) output = spell(rhs, ellipsisRank + rhs.length - 3 * +rhs.includes('...'));
  else {
    const counts = new Map<string, number>();
    for (const ch of inputs.join('')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const once = [...counts].filter(([ch, k]) => k === 1 && !ellipsisLetters.includes(ch)).map(([ch]) => ch).sort();
    output = ellipsisLetters.slice(0, ellipsisRank) + once.join('');
  }
  return { inputs, output };
}

/** Einsum's output: each output letter takes its size from an operand where it is not 1. */
export const einsumShape: InferFn = (c) => {
  const shapes = c.node.inputs.map((_, i) => c.shape(i));
  const eq = c.node.attrs.get('equation');
  if (!eq || eq.kind !== 'string' || shapes.some((s) => !s)) return [{ type: c.type(0) }];
  const terms = parseEinsum(eq.value, shapes.map((s) => s!.length));
  const size = new Map<string, Dim>();
  terms.inputs.forEach((t, i) => [...t].forEach((ch, k) => {
    const d = shapes[i]![k];
    if (!size.has(ch) || size.get(ch) === 1) size.set(ch, d);
  }));
  return [{ type: c.type(0), shape: [...terms.output].map((ch) => size.get(ch)!) }];
};
