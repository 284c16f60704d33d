// glibc malloc settings for a process that trains, set where Trainer starts one (the extension's
// trainer process, the benchmark's two sides). A leaf module: the extension, the engine and the
// benchmark import it.
//
// Why: onnxruntime-node returns every output of a run as a new JavaScript buffer (the train step's
// gradients, the optimizer program's updated chunks). With glibc's defaults a freed block over
// its mmap threshold (128 KiB, raised as blocks are freed up to 32 MiB) goes back to the system,
// and so does free memory over twice that at the heap's top; the next step's buffers are then
// fresh pages, each one a page fault. On the 2-core VM of docs/PERFORMANCE.md a fault costs
// about 11 µs (a 48 MB output: 140 ms fresh, 7 ms reused), and PyTorch pays the same for its
// gradients. With these two settings freed memory stays in the process and the next step reuses
// it; peak memory is unchanged (measured there), only memory freed after the peak is not handed
// back until the process ends.
//
// They must be in the environment when the process starts: glibc reads them once. A process
// started without them (the command line) gets what glibc's dynamic threshold allows, from
// keepFreedMemory in programs/session.ts.

/** One setting: the environment variable (mallopt(3)) and its value in bytes. */
export interface MallocSetting {
  name: string;
  value: number;
  why: string;
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

export const MALLOC_SETTINGS: readonly MallocSetting[] = [
  // Not higher: with 1 GiB the loading phase's large transient buffers (the file's bytes, the
  // serialized graphs) went to the heap too and BERT-base peaked 91 MB higher; with 128 MiB the
  // same speed and the peak of glibc's defaults (docs/PERFORMANCE.md).
  { name: 'MALLOC_MMAP_THRESHOLD_', value: 128 * MIB, why: 'blocks under 128 MiB (a step\'s outputs) come from the heap, so a freed one is reused rather than unmapped' },
  { name: 'MALLOC_TRIM_THRESHOLD_', value: 4 * GIB, why: 'free memory at the heap top stays for the next step rather than going back to the system' },
];

/**
 * The settings to add to `env` for a training process: those it does not set already (a value
 * the user chose wins). Empty off Linux, where glibc's variables mean nothing.
 */
export function allocatorEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): Record<string, string> {
  if (platform !== 'linux') return {};
  const out: Record<string, string> = {};
  for (const s of MALLOC_SETTINGS) if (env[s.name] === undefined) out[s.name] = String(s.value);
  return out;
}

/** Whether this process was started with any of the settings (then glibc's thresholds are fixed). */
export function startedWithAllocatorSettings(env: NodeJS.ProcessEnv = process.env): boolean {
  return MALLOC_SETTINGS.some((s) => env[s.name] !== undefined);
}
