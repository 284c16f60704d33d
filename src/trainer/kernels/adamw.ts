// AdamW's update as a WebAssembly kernel (adamw.wat): one pass over each parameter that reads
// p, g, m, v and writes p, m, v, where the optimizer program (programs/optimizerStep.ts) makes
// fourteen elementwise passes and onnxruntime-node then copies its three outputs into new
// JavaScript buffers. Same operations in the same order, so the same bits (tested against the
// program in test/kernels/adamw.test.ts). The kernel cannot see JavaScript's buffers: what does not
// live in its memory for the whole run (AdamWKernel.place: the moments, and the parameters where
// they fit too) is copied through it one chunk at a time (a chunk small enough for a core's cache
// costs little more than the one pass). The gradient always is: it arrives as the copy
// onnxruntime-node makes of a train-step output. docs/PERFORMANCE.md has the measurements.

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

/** WebAssembly's 32-bit memories end at 4 GiB; arrays that would not fit stay in JavaScript buffers. */
const MAX_MEMORY_BYTES = 4 * 1024 ** 3 - 65536;
const PAGE = 65536;

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

let compiled: object | null | undefined;

/** The compiled module, or null where this runtime has no WebAssembly SIMD. */
function module(): object | null {
  if (compiled !== undefined) return compiled;
  const bytes = Buffer.from(ADAMW_WASM, 'base64');
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return (compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null);
}

/** Whether the kernel can run here (WebAssembly with SIMD). */
export function adamwKernelAvailable(): boolean {
  return module() !== null;
}

/** Single-precision rounding, as the program's float32 scalars hold each value. */
export const f32 = Math.fround;

/**
 * One instance of the kernel with its own memory: four chunk-sized arrays that each update's
 * values are copied through, and optionally room for arrays that live there for the whole run
 * (`place`: moments and parameters), which the update then reads and writes where they lie. With
 * p and g still copied through, 11M parameters took 13.4 against 17.0 ms per step standalone and
 * ResNet-18 64²'s optimizer 15 against 18–21 ms (docs/PERFORMANCE.md, seventh session). The
 * memory grows once, here: growing a WebAssembly memory detaches the views made of it.
 */
export class AdamWKernel {
  private readonly f32: Float32Array;
  private readonly run: (p: number, g: number, m: number, v: number, bytes: number, ...s: number[]) => void;
  /** Next free element of the resident region, which starts after the four chunks. */
  private next = 4 * ADAMW_CHUNK;
  private readonly end: number;

  /** Room for `residentElements` resident elements (none by default); throws where the kernel cannot run. */
  constructor(residentElements = 0) {
    const m = module();
    if (!m) throw new Error('WebAssembly SIMD is not available for the AdamW kernel');
    const instance = new (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.Instance(m);
    const memory = instance.exports.memory as WasmMemory;
    const grow = (elements: number) => {
      const need = elements * 4;
      if (need > AdamWKernel.growLimitBytes) throw new RangeError(`WebAssembly.Memory.grow(): limited to ${AdamWKernel.growLimitBytes} bytes`);
      if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    };
    try {
      grow(4 * ADAMW_CHUNK + residentElements);
    } catch {
      // No room (the memory could not grow that far): everything stays in JavaScript buffers
      // (place() hands out nothing) and is copied through.
      grow(4 * ADAMW_CHUNK);
    }
    this.f32 = new Float32Array(memory.buffer);
    this.end = this.f32.length;
    this.run = instance.exports.adamw as AdamWKernel['run'];
  }

  /**
   * Where a memory fails to grow (tests set this to stand for a process's memory limit, which
   * makes WebAssembly.Memory.grow throw).
   */
  static growLimitBytes = Infinity;

  /** Elements left for place() (less than asked for where the memory could not grow that far). */
  get room(): number {
    return this.end - this.next;
  }

  /** Elements an array of `length` takes in the region (rounded up to the lanes). */
  static footprint(length: number): number {
    return Math.ceil(length / 4) * 4;
  }

  /** Whether `residentElements` (footprints summed) fit in one memory next to the chunks. */
  static fits(residentElements: number): boolean {
    return (4 * ADAMW_CHUNK + residentElements) * 4 <= MAX_MEMORY_BYTES;
  }

  /**
   * A zeroed array of `length` elements in the kernel's memory, or undefined when the room is used
   * up. Each starts at a multiple of four elements: the kernel's lanes are 16-byte loads.
   */
  place(length: number): Float32Array | undefined {
    const size = AdamWKernel.footprint(length);
    if (this.next + size > this.end) return undefined;
    const view = this.f32.subarray(this.next, this.next + length);
    this.next += size;
    return view;
  }

  /** Whether `a` lies in this kernel's memory (an array place() handed out). */
  private holds(a: Float32Array): boolean {
    return a.buffer === this.f32.buffer && a.byteOffset >= 4 * ADAMW_CHUNK * 4;
  }

  /**
   * Updates one parameter: `p`, `m` and `v` get their new values — in place, or in `into` when
   * given (the same lengths) — from gradient `g`. All four have the same length. A parameter or
   * the moments updated in place in arrays this kernel handed out are read and written where they
   * lie; anything else is copied through.
   */
  update(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars,
    into: { p: Float32Array; m: Float32Array; v: Float32Array } = { p, m, v }): void {
    const n = p.length;
    if (g.length !== n || m.length !== n || v.length !== n) throw new Error(`AdamW kernel: lengths differ (${n}, ${g.length}, ${m.length}, ${v.length})`);
    const C = ADAMW_CHUNK;
    const [P, G, M, V] = [0, C, 2 * C, 3 * C];
    const mem = this.f32;
    const resident = into.m === m && into.v === v && this.holds(m) && this.holds(v);
    const residentP = into.p === p && this.holds(p);
    for (let start = 0; start < n; start += C) {
      const end = Math.min(n, start + C);
      const len = end - start;
      const pAt = residentP ? p.byteOffset / 4 + start : P;
      if (!residentP) mem.set(p.subarray(start, end), P);
      mem.set(g.subarray(start, end), G);
      const [mAt, vAt] = resident ? [m.byteOffset / 4 + start, v.byteOffset / 4 + start] : [M, V];
      if (!resident) {
        mem.set(m.subarray(start, end), M);
        mem.set(v.subarray(start, end), V);
      }
      // The kernel works four lanes at a time; the lanes past `len` are computed and not read
      // back (in the resident region they are the array's own padding: each array starts
      // 16-byte aligned and takes a whole number of lanes).
      this.run(pAt * 4, G * 4, mAt * 4, vAt * 4, Math.ceil(len / 4) * 16, s.decay, s.beta1, s.k1, s.beta2, s.k2, s.bc2, s.eps, s.step);
      if (!residentP) into.p.set(mem.subarray(P, P + len), start);
      if (!resident) {
        into.m.set(mem.subarray(M, M + len), start);
        into.v.set(mem.subarray(V, V + len), start);
      }
    }
  }
}
