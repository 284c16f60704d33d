// Randomness without hidden state. Dropout masks and data order come from a counter-based
// generator: a value is a hash of (key, counter), so any step can be replayed from the seed and
// the step number alone — which is what makes resuming a run bit-exact. The same 32-bit mixer
// runs in JavaScript (keys, shuffles) and inside train-step graphs (masks, in uint32 ONNX ops).

import { GraphBuilder } from '../onnx/builder';
import { DataType, fromNumbers } from '../onnx/tensor';

/** "lowbias32" integer mixer (Chris Wellons' hash-prospector): a bijection on uint32. */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Combines words into one key, order-sensitive. */
export function keyOf(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) h = mix32((h ^ (w >>> 0)) + 0x6a09e667 >>> 0);
  return h;
}

/** A uniform float in [0, 1) from (key, counter). */
export function uniform(key: number, counter: number): number {
  return mix32((key ^ mix32(counter >>> 0)) >>> 0) / 4294967296;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates driven by the counter-based generator). */
export function permutation(n: number, key: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(key, i) * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * Emits uint32 hash nodes: mix32(key ⊕ mix32(index)) for every element index of `like`, and
 * returns uniform floats in [0, 1) with 24 random bits, shaped like `like`.
 */
export function uniformLike(b: GraphBuilder, like: string, key: string): string {
  const u32 = (v: number) => b.constant(fromNumbers(DataType.UINT32, [], [v]), 'u32');
  const mix = (x: string) => {
    let h = b.op('BitwiseXor', [x, b.op('BitShift', [x, u32(16)], { direction: 'RIGHT' })]);
    h = b.mul(h, u32(0x7feb352d));
    h = b.op('BitwiseXor', [h, b.op('BitShift', [h, u32(15)], { direction: 'RIGHT' })]);
    h = b.mul(h, u32(0x846ca68b));
    return b.op('BitwiseXor', [h, b.op('BitShift', [h, u32(16)], { direction: 'RIGHT' })]);
  };
  const size = b.op('Size', [like]);
  const counter = b.cast(b.op('Range', [b.scalar(0, DataType.INT64), size, b.scalar(1, DataType.INT64)]), DataType.UINT32);
  const h = mix(b.op('BitwiseXor', [mix(counter), key]));
  const top24 = b.op('BitShift', [h, u32(8)], { direction: 'RIGHT' });
  const u = b.mul(b.cast(top24, b.type(like)), b.scalarLike(2 ** -24, like));
  return b.reshapeLike(u, like);
}

/** The in-graph key of one random site (a Dropout node) from the step key. */
export function siteKey(b: GraphBuilder, stepKey: string, site: number): string {
  const salt = b.constant(fromNumbers(DataType.UINT32, [], [mix32(site + 1)]), 'site');
  return b.op('BitwiseXor', [stepKey, salt]);
}
