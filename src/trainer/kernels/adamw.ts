// AdamW's update as a WebAssembly kernel (adamw.wat): one pass over each parameter that reads
// p, g, m, v and writes p, m, v, where the optimizer program (programs/optimizerStep.ts) makes
// fourteen elementwise passes and onnxruntime-node then copies its three outputs into new
// JavaScript buffers. Same operations in the same order, so the same bits (tested against the
// program in test/kernels/adamw.test.ts). The arrays are copied through the module's memory one
// chunk at a time: the kernel cannot see JavaScript's buffers, and a chunk small enough for a
// core's cache costs little more than the one pass. docs/PERFORMANCE.md has the measurements.

import { ADAMW_WASM } from './adamwWasm';

/** The update's scalars, each already rounded to single precision as the program holds it. */
export interface AdamWScalars {
  /** Multiplies p before the step: 1 − lr·weight_decay in the decay group, else 1. */
  decay: number;
  beta1: number;
  /** coef·(1 − β1), coef being the clipping coefficient. */
  k1: number;
  beta2: number;
  /** coef²·(1 − β2). */
  k2: number;
  /** √(1 − β2^step). */
  bc2: number;
  eps: number;
  /** lr / (1 − β1^step). */
  step: number;
}

/** Elements of each of the four arrays per call: 4 × 32 KB, well inside a core's L2 cache. */
export const ADAMW_CHUNK = 8192;

interface Kernel {
  f32: Float32Array;
  adamw: (p: number, g: number, m: number, v: number, bytes: number, ...s: number[]) => void;
}

let kernel: Kernel | null | undefined;

// The part of the WebAssembly API used here (the project's TypeScript libs do not declare it).
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

/** The instantiated kernel, or null where this runtime has no WebAssembly SIMD. */
function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  const bytes = Buffer.from(ADAMW_WASM, 'base64');
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm || !wasm.validate(bytes)) return (kernel = null);
  const instance = new wasm.Instance(new wasm.Module(bytes));
  const memory = instance.exports.memory as WasmMemory;
  const need = 4 * ADAMW_CHUNK * 4;
  if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  return (kernel = { f32: new Float32Array(memory.buffer), adamw: instance.exports.adamw as Kernel['adamw'] });
}

/** Whether the kernel can run here (WebAssembly with SIMD). */
export function adamwKernelAvailable(): boolean {
  return load() !== null;
}

/** Single-precision rounding, as the program's float32 scalars hold each value. */
export const f32 = Math.fround;

/**
 * Updates one parameter: `p`, `m` and `v` get their new values — in place, or in `into` when given
 * (the same lengths) — from gradient `g`. All four have the same length.
 */
export function adamwUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars,
  into: { p: Float32Array; m: Float32Array; v: Float32Array } = { p, m, v }): void {
  const k = load();
  if (!k) throw new Error('WebAssembly SIMD is not available for the AdamW kernel');
  const n = p.length;
  if (g.length !== n || m.length !== n || v.length !== n) throw new Error(`AdamW kernel: lengths differ (${n}, ${g.length}, ${m.length}, ${v.length})`);
  const C = ADAMW_CHUNK;
  const [P, G, M, V] = [0, C, 2 * C, 3 * C];
  const { f32: mem, adamw } = k;
  for (let start = 0; start < n; start += C) {
    const end = Math.min(n, start + C);
    const len = end - start;
    mem.set(p.subarray(start, end), P);
    mem.set(g.subarray(start, end), G);
    mem.set(m.subarray(start, end), M);
    mem.set(v.subarray(start, end), V);
    // The kernel works four lanes at a time; the lanes past `len` are computed and not read back.
    adamw(P * 4, G * 4, M * 4, V * 4, Math.ceil(len / 4) * 16, s.decay, s.beta1, s.k1, s.beta2, s.k2, s.bc2, s.eps, s.step);
    into.p.set(mem.subarray(P, P + len), start);
    into.m.set(mem.subarray(M, M + len), start);
    into.v.set(mem.subarray(V, V + len), start);
  }
}
