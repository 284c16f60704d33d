// Runs the optimizer update over every parameter, updating parameters and moments in the state's
// own buffers: float32 parameters under AdamW go through the WebAssembly kernel (kernels/adamw.ts,
// one pass; g copied through its memory, the moments living there when the state took them from
// `moment`, and the parameter too when the state placed it there with `place`), the rest through
// the optimizer program (optimizerStep.ts), one chunk of at most OPTIMIZER_CHUNK elements per run.
// Both compute the same bits.

import * as ort from 'onnxruntime-node';
import { AdamWKernel, AdamWScalars, adamwKernelAvailable } from '../kernels/adamw';
import { DataType, Tensor, TensorData, ortTypeName, sizeOf, zeros } from '../onnx/tensor';
import { OptimizerConfig, adamwKernelComputes, adamwKernelScalars, hyperParameterValues, optimizerSlots } from './optimizers';
import { OPTIMIZER_CHUNK, OPTIMIZER_IO, compileOptimizerStep } from './optimizerStep';
import { SessionOptions, createSession, releaseCopies, scalar } from './session';

/** A parameter the optimizer updates and whether it is in the weight-decay group. */
export interface OptimizedParam {
  name: string;
  decay: boolean;
}

interface Program {
  session: ort.InferenceSession;
  /** Outputs written over their input's buffer (all of them for the updates of optimizers.ts). */
  inPlace: Map<string, string>;
}

function view(t: Tensor, start: number, end: number): ort.Tensor {
  const data = (t.data as TensorData).subarray(start, end);
  return new ort.Tensor(ortTypeName(t.type) as ort.Tensor.Type, data as ort.Tensor.DataType, [end - start]);
}

export class OptimizerRunner {
  private constructor(
    private readonly cfg: OptimizerConfig,
    readonly slots: string[],
    /** Keyed by element type and decay group. */
    private readonly programs: Map<string, Program>,
    private readonly chunk: number,
    /** The kernel that updates the parameters kernelUpdates accepts, or null. */
    private readonly kernel: AdamWKernel | null,
    /** Parameters whose moments the kernel holds room for. */
    private readonly resident: Set<string>,
    /** Whether the kernel also holds room for those parameters themselves. */
    private readonly residentParams: boolean,
  ) {}

  /**
   * Whether create would make an optimizer program (a session of its own) for some parameter: not
   * where AdamW's kernel updates them all.
   */
  static needsPrograms(cfg: OptimizerConfig, params: { type: Tensor['type']; decay: boolean }[], opts: { optimizerKernel?: boolean }): boolean {
    return !kernelWanted(opts) || params.some((p) => !kernelUpdates(cfg, p.type, p.decay));
  }

  /** `optimizerKernel: false` sends every parameter through the program (for tests and the bench comparing the two). */
  static async create(cfg: OptimizerConfig, params: (OptimizedParam & { type: Tensor['type']; dims?: number[] })[], opts: SessionOptions & { optimizerKernel?: boolean },
    chunk = OPTIMIZER_CHUNK): Promise<OptimizerRunner> {
    const programs = new Map<string, Program>();
    const useKernel = kernelWanted(opts);
    for (const p of params) {
      const key = `${p.type}/${p.decay}`;
      if (programs.has(key) || (useKernel && kernelUpdates(cfg, p.type, p.decay))) continue;
      const compiled = compileOptimizerStep(cfg, p.decay, p.type);
      programs.set(key, { session: await createSession(compiled.graph, opts), inPlace: new Map(compiled.inPlace.map((q) => [q.output, q.input])) });
    }
    // The kernel's parameters and both their moments live in its memory when all three copies fit
    // there and the memory can grow that far (not under a process limit), else the moments alone.
    const kernelParams = useKernel ? params.filter((p) => p.dims && kernelUpdates(cfg, p.type, p.decay)) : [];
    const copy = kernelParams.reduce((a, p) => a + AdamWKernel.footprint(sizeOf(p.dims!)), 0);
    const withRoomFor = (copies: number) => new AdamWKernel(AdamWKernel.fits(copies * copy) ? copies * copy : 0);
    let kernel = useKernel ? withRoomFor(3) : null;
    if (kernel && kernel.room < 3 * copy) kernel = withRoomFor(2);
    // Moments the kernel has no room for are JavaScript buffers (moment()), copied through.
    const resident = new Set(kernel && kernel.room > 0 ? kernelParams.map((p) => p.name) : []);
    return new OptimizerRunner(cfg, optimizerSlots(cfg), programs, chunk, kernel, resident, kernel !== null && kernel.room >= 3 * copy);
  }

  /**
   * A zeroed tensor for one of parameter `param`'s slots (the state's moments start so): in the
   * kernel's memory where the kernel updates the parameter, else a JavaScript buffer.
   */
  moment(param: string, type: DataType, dims: number[]): Tensor {
    const data = this.resident.has(param) ? this.kernel!.place(sizeOf(dims)) : undefined;
    return data ? { type, dims: [...dims], data } : zeros(type, dims);
  }

  /**
   * Where the kernel updates parameter `param` and has room for it: a copy of `values` in the
   * kernel's memory, which the update then reads and writes where it lies (no copy of p in and
   * out per step). undefined otherwise, and for a second request for the same parameter.
   */
  place(param: string, values: Tensor): Float32Array | undefined {
    if (!this.residentParams || !this.resident.has(param) || this.placed.has(param) || values.type !== DataType.FLOAT) return undefined;
    const data = this.kernel!.place(values.data.length);
    if (!data) return undefined;
    data.set(values.data as Float32Array);
    this.placed.add(param);
    return data;
  }

  private readonly placed = new Set<string>();

  /**
   * One optimizer step at learning rate `lr` (1-based step `step`) with gradients `grads` scaled
   * by `coef` (the train step's clipping coefficient, a scalar tensor of the parameters' type).
   * With `inPlace` the state's tensors are updated where they lie; without, each parameter and
   * moment is replaced by a new tensor (for tests comparing the two).
   */
  async apply(params: Map<string, Tensor>, moments: Map<string, Tensor>, order: OptimizedParam[], grads: Map<string, Tensor>,
    coef: ort.Tensor, lr: number, step: number, inPlace: boolean): Promise<void> {
    const hyper: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(hyperParameterValues(this.cfg, lr, step))) hyper[OPTIMIZER_IO.hyper(k)] = scalar(v);
    // The kernel's scalars, once per decay group and step (like `hyper` for the program).
    const kernelScalars = new Map<boolean, AdamWScalars>();
    const scalarsOf = (decay: boolean) => {
      if (!kernelScalars.has(decay)) kernelScalars.set(decay, adamwKernelScalars(this.cfg, decay, Number(coef.data[0]), lr, step)!);
      return kernelScalars.get(decay)!;
    };
    for (const p of order) {
      const param = params.get(p.name)!;
      if (this.kernel !== null && kernelUpdates(this.cfg, param.type, p.decay)) {
        // The train step's coefficient has the parameters' type; read as a number only from float32.
        if (coef.type !== 'float32') throw new Error(`the clipping coefficient is ${coef.type}, the AdamW kernel reads float32`);
        this.applyKernel(param, moments, p, grads.get(p.name)!, scalarsOf(p.decay), params, inPlace);
        continue;
      }
      const program = this.programs.get(`${param.type}/${p.decay}`)!;
      // Current value and where its new value goes, per output.
      const targets: [string, Tensor, Tensor][] = [[OPTIMIZER_IO.paramNext, param, inPlace ? param : zeros(param.type, param.dims)]];
      const feedsOf: [string, Tensor][] = [[OPTIMIZER_IO.param, param], [OPTIMIZER_IO.grad, grads.get(p.name)!]];
      for (const s of this.slots) {
        const m = moments.get(`${s}/${p.name}`)!;
        feedsOf.push([OPTIMIZER_IO.slot(s), m]);
        targets.push([OPTIMIZER_IO.slotNext(s), m, inPlace ? m : zeros(m.type, m.dims)]);
      }
      const n = param.data.length;
      for (let start = 0; start < n; start += this.chunk) {
        const end = Math.min(n, start + this.chunk);
        const feeds: Record<string, ort.Tensor> = { ...hyper, [OPTIMIZER_IO.coef]: coef };
        for (const [name, t] of feedsOf) feeds[name] = view(t, start, end);
        const fetches: Record<string, ort.Tensor | null> = {};
        const written: string[] = [];
        for (const [name, , into] of targets) {
          if (inPlace && program.inPlace.has(name)) {
            fetches[name] = view(into, start, end);
            written.push(name);
          } else {
            fetches[name] = null;
          }
        }
        const out = await program.session.run(feeds, fetches);
        for (const [name, , into] of targets) {
          if (!written.includes(name)) (into.data as Float32Array).set(out[name].data as Float32Array, start);
        }
        releaseCopies(out, Object.keys(out));
      }
      if (!inPlace) {
        params.set(p.name, targets[0][2]);
        this.slots.forEach((s, k) => moments.set(`${s}/${p.name}`, targets[k + 1][2]));
      }
    }
  }

  private applyKernel(param: Tensor, moments: Map<string, Tensor>, p: OptimizedParam, grad: Tensor, scalars: AdamWScalars,
    params: Map<string, Tensor>, inPlace: boolean): void {
    const [m, v] = this.slots.map((s) => moments.get(`${s}/${p.name}`)!);
    const into = inPlace ? undefined : { p: zeros(param.type, param.dims), m: zeros(m.type, m.dims), v: zeros(v.type, v.dims) };
    const f = (t: Tensor) => t.data as Float32Array;
    this.kernel!.update(f(param), f(grad), f(m), f(v), scalars, into && { p: f(into.p), m: f(into.m), v: f(into.v) });
    if (into) {
      params.set(p.name, into.p);
      moments.set(`${this.slots[0]}/${p.name}`, into.m);
      moments.set(`${this.slots[1]}/${p.name}`, into.v);
    }
  }

  async release(): Promise<void> {
    for (const p of this.programs.values()) await p.session.release();
  }
}

/** Whether AdamW's kernel may run at all: not turned off, and WebAssembly there. */
function kernelWanted(opts: { optimizerKernel?: boolean }): boolean {
  return opts.optimizerKernel !== false && adamwKernelAvailable();
}

/** Whether the kernel computes the update of a parameter of this type and decay group. */
function kernelUpdates(cfg: OptimizerConfig, type: DataType, decay: boolean): boolean {
  return type === DataType.FLOAT && adamwKernelComputes(cfg, decay);
}
