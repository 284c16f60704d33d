// Creates onnxruntime-node sessions for compiled programs, on the execution provider the user
// asked for. An unavailable provider is a clear error, never a silent fallback to the CPU.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as ort from 'onnxruntime-node';
import { startedWithAllocatorSettings } from '../../allocator';
import { Graph, subgraphReads } from '../onnx/graph';
import { serializeGraph } from '../onnx/model';
import { Tensor, dataTypeFromOrt, ortTypeName } from '../onnx/tensor';
import { blockConvs, nchwcBlockSize } from './nchwc';
import { widenChannelBroadcasts } from './channelBroadcast';
import { keepChannelsLast } from './channelsLast';

export type DeviceRequest = 'auto' | 'cpu' | 'cuda';

export class DeviceError extends Error {}

export interface SessionOptions {
  device?: DeviceRequest;
  /** Intra-op threads; 0 lets onnxruntime choose (one per core). */
  threads?: number;
  /** Write the optimized graph here (for inspecting what onnxruntime fused). */
  optimizedModelPath?: string;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime's memory-pattern planning (off by default, see createSession). */
  memoryPattern?: boolean;
  /** onnxruntime graph transformers to turn off, by name. */
  disabledOptimizers?: string[];
  /** false: Convs with computed weights keep onnxruntime's plain form on the CPU (nchwc.ts). */
  blockedConvs?: boolean;
  /** false: values between the small-image products go back to NCHW as compiled (channelsLast.ts). */
  channelsLast?: boolean;
  /**
   * Whether onnxruntime's intra-op threads wait for the next parallel section spinning rather
   * than asleep: only for a session that no other session of ours alternates with (see
   * ortSessionOptions).
   */
  spinning?: boolean;
}

/** Whether onnxruntime-node's CUDA provider library is installed next to its binding. */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** The execution provider a request resolves to on this machine. */
export function resolveDevice(request: DeviceRequest = 'auto'): 'cpu' | 'cuda' {
  if (request === 'cpu') return 'cpu';
  const cuda = cudaProviderInstalled();
  if (request === 'cuda' && !cuda) {
    throw new DeviceError(
      'device: cuda was requested, but onnxruntime-node\'s CUDA provider is not installed ' +
      '(libonnxruntime_providers_cuda.so is missing). Install it as the README\'s "GPU (CUDA)" section says, or set device: cpu.');
  }
  return request === 'cuda' || cuda ? 'cuda' : 'cpu';
}

/** onnxruntime's options for a session of ours on `device`. */
export function ortSessionOptions(device: 'cpu' | 'cuda', opts: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: opts.optimization ?? 'all',
    logSeverityLevel: 3,
    // A memory pattern plans one block for every intermediate of the graph; train steps keep
    // many alive at once, and without it the BERT benchmark peaked 130 MB lower at equal speed.
    enableMemPattern: opts.memoryPattern ?? false,
  };
  if (opts.threads) options.intraOpNumThreads = opts.threads;
  // Session config entries, dot-separated. onnxruntime's intra-op threads spin after each parallel
  // section by default. Where a train step runs two sessions (the step and an optimizer program),
  // each one's spinning threads took the cores from the other: without spinning, alternated, the
  // MLP row's step 24–50 → 20–24 ms, ResNet-18 64² 243–289 → 226–257 ms. Where the step is the
  // only session (AdamW's kernel updates every parameter), spinning gains back the wake-up of a
  // sleeping thread at each of the step's parallel sections: ResNet-18 64², 18 alternated pairs,
  // spinning faster in 15, by 7.6 ms per step (4%) in the median pair, and faster in 6 of 6
  // order-balanced rounds of the two builds; 224² inconclusive; DistilBERT-base and the MLP even
  // (docs/PERFORMANCE.md).
  const extra: Record<string, Record<string, unknown>> = { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' } } };
  if (opts.disabledOptimizers?.length) extra.optimization = { disable_specified_optimizers: opts.disabledOptimizers.join(',') };
  options.extra = extra;
  if (opts.optimizedModelPath) options.optimizedModelFilePath = opts.optimizedModelPath;
  return options;
}

export async function createSession(graph: Graph, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const device = resolveDevice(opts.device);
  const options = ortSessionOptions(device, opts);
  if (device === 'cpu') {
    const block = opts.blockedConvs !== false ? await nchwcBlockSize() : undefined;
    try {
      if (opts.channelsLast !== false) graph = keepChannelsLast(graph) ?? graph;
      graph = widenChannelBroadcasts(graph) ?? graph;
      graph = (block && blockConvs(graph, block)) || graph;
    } catch {
      // Speed-ups only: a graph the rewrites cannot read runs as compiled.
    }
  }
  try {
    return await ort.InferenceSession.create(serializeGraph(withoutUnreadInitializers(graph)), options);
  } catch (e) {
    const msg = (e as Error).message;
    if (device === 'cuda') throw new DeviceError(`onnxruntime could not start the CUDA provider: ${msg}`);
    throw new Error(`onnxruntime rejected the compiled graph "${graph.name}": ${msg}`);
  }
}

/**
 * The graph without initializers that no node reads (onnxruntime drops them when it loads the
 * graph, after they were serialized and parsed): a copy trained as its source (derivedCopy,
 * fileLimits.ts) would otherwise be remade only to be thrown away.
 */
function withoutUnreadInitializers(graph: Graph): Graph {
  const read = new Set(graph.outputs.map((o) => o.name));
  for (const n of graph.nodes) {
    for (const i of n.inputs) read.add(i);
    for (const i of subgraphReads(n)) read.add(i);
  }
  if ([...graph.initializers.keys()].every((k) => read.has(k))) return graph;
  const g = graph.clone();
  for (const k of graph.initializers.keys()) if (!read.has(k)) g.initializers.delete(k);
  return g;
}

/** A float32 scalar feed (the per-step scalars: learning rate, bias corrections, scales). */
export function scalar(v: number): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.of(v), []);
}

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(ortTypeName(t.type) as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
}

export function fromOrt(t: ort.Tensor): Tensor {
  return { type: dataTypeFromOrt(t.type), dims: [...t.dims], data: t.data as Tensor['data'] };
}

type Transfer = (this: ArrayBuffer, length: number) => ArrayBuffer;
let transfer: Transfer | null | undefined;

/**
 * ArrayBuffer.prototype.transfer (ES2024), which frees a buffer's memory at once when called
 * with length 0. Node.js 22 has it; Node.js 20's V8 has it behind a flag, which applies to
 * contexts created after it is set, so the function is taken from a fresh context (it works on
 * this context's buffers). null where neither is possible.
 */
function arrayBufferTransfer(): Transfer | null {
  if (transfer !== undefined) return transfer;
  const own = (ArrayBuffer.prototype as { transfer?: Transfer }).transfer;
  if (own) return (transfer = own);
  try {
    v8.setFlagsFromString('--harmony-rab-gsab-transfer');
    const fresh = vm.runInNewContext('ArrayBuffer.prototype.transfer') as Transfer | undefined;
    transfer = fresh ?? null;
  } catch {
    transfer = null;
  }
  return transfer;
}

/** Largest block whose freeing raises glibc's dynamic mmap threshold (its cap is 32 MiB on 64-bit). */
const DYNAMIC_THRESHOLD_BLOCK = 31 * 1024 * 1024;
let keptFreedMemory = false;

/**
 * In a process started without Trainer's malloc settings (src/allocator.ts; the command line),
 * raises glibc's mmap threshold to 31 MiB and its trim threshold to twice that, the most glibc
 * does by itself: it does so when a mapped block larger than the threshold is freed (mallopt(3)),
 * so one such block is made and freed at once. Blocks below 31 MiB (most outputs of a step) are
 * then reused by the next step instead of being fresh pages; larger ones are still unmapped on
 * free. Once per process; nothing where the settings were given or ArrayBuffer transfer is missing.
 */
export function keepFreedMemory(): void {
  if (keptFreedMemory || process.platform !== 'linux' || startedWithAllocatorSettings()) return;
  keptFreedMemory = true;
  const t = arrayBufferTransfer();
  if (t) t.call(new ArrayBuffer(DYNAMIC_THRESHOLD_BLOCK), 0);
}

/**
 * Frees the memory of outputs `names` of a run now instead of at the next garbage collection.
 * onnxruntime-node returns every output as a new JavaScript copy, also one it wrote into a
 * buffer we passed; those copies are garbage the moment they arrive, and left to the collector
 * they pile up over steps (docs/PERFORMANCE.md). Only buffers onnxruntime-node made are passed
 * here, so nothing else can hold them.
 */
export function releaseCopies(out: ort.InferenceSession.ReturnType, names: Iterable<string>): void {
  const t = arrayBufferTransfer();
  if (!t) return;
  for (const name of names) {
    const data = out[name]?.data as ArrayBufferView | undefined;
    if (data && ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer && data.buffer.byteLength > 0) t.call(data.buffer, 0);
  }
}

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection now, where this Node.js allows one (the gc function of a context
 * created after --expose-gc is set, as arrayBufferTransfer takes transfer). For buffers that have
 * just become garbage and are too many bytes to leave to the collector's own pace: the weights'
 * old copies after they move into the optimizer kernel's memory (initialState), which the first
 * step's arena would otherwise grow on top of (ResNet-18 64²: peak 460 → 504 MB without this).
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    const own = (globalThis as { gc?: () => void }).gc;
    if (own) {
      gc = own;
    } else {
      try {
        v8.setFlagsFromString('--expose-gc');
        gc = (vm.runInNewContext('gc') as (() => void) | undefined) ?? null;
      } catch {
        gc = null;
      } finally {
        // Only this function was wanted: contexts and workers made later get no global gc.
        v8.setFlagsFromString('--no-expose-gc');
      }
    }
  }
  gc?.();
}
