// The typed messages between a trainer process and the VS Code extension, defined once here and
// imported by both sides. The extension forks the CLI (dist/cli.js) with an IPC channel; the
// trainer sends TrainerMessage objects with process.send and receives ControlMessage objects.
// No logic lives here: types, the version, and a parser that checks the shape of what arrives.

export const PROTOCOL_VERSION = 1;

export type Phase = 'loading' | 'tokenizing' | 'compiling' | 'training' | 'evaluating' | 'predicting' | 'saving';

export type TrainerMessage =
  /** The process is up and has read its config. */
  | { type: 'started'; version: number; pid: number; command: string; config: string; outputDir: string }
  /** A long preparation step (shown as a progress notification). */
  | { type: 'phase'; phase: Phase; message: string }
  /** Training progress, at most a few times a second. */
  | { type: 'progress'; step: number; maxSteps: number; epoch: number; samplesPerSecond: number; etaSeconds: number | null; loss: number | null }
  /** One log_history entry as written to trainer_state.json (step included). */
  | { type: 'log'; entry: Record<string, number> }
  /** A checkpoint folder was written (complete, renamed into place). */
  | { type: 'checkpoint'; path: string; step: number }
  /** The run failed; `exitCode` 2 for bad input, 1 otherwise. */
  | { type: 'error'; message: string; exitCode: number }
  /** The command ended; the process exits right after. */
  | { type: 'finished'; exitCode: number; outputDir: string };

/** Exit codes of a run stopped on request (SIGINT / the extension's stop: 130, SIGTERM: 143), not failed. */
export const STOPPED_EXIT_CODES: readonly number[] = [130, 143];

export type ControlMessage =
  /** Stop training after the current step; `save` writes a checkpoint first. */
  | { type: 'stop'; save: boolean };

const TRAINER_TYPES = new Set(['started', 'phase', 'progress', 'log', 'checkpoint', 'error', 'finished']);

/** Checks that `value` looks like a TrainerMessage (type tag and required fields). */
export function parseTrainerMessage(value: unknown): TrainerMessage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.type !== 'string' || !TRAINER_TYPES.has(m.type)) return undefined;
  const num = (k: string) => typeof m[k] === 'number';
  const str = (k: string) => typeof m[k] === 'string';
  switch (m.type) {
    case 'started':
      return num('version') && num('pid') && str('command') && str('config') && str('outputDir') ? (m as TrainerMessage) : undefined;
    case 'phase':
      return str('phase') && str('message') ? (m as TrainerMessage) : undefined;
    case 'progress':
      return num('step') && num('maxSteps') && num('epoch') ? (m as TrainerMessage) : undefined;
    case 'log':
      return m.entry && typeof m.entry === 'object' ? (m as TrainerMessage) : undefined;
    case 'checkpoint':
      return str('path') && num('step') ? (m as TrainerMessage) : undefined;
    case 'error':
      return str('message') && num('exitCode') ? (m as TrainerMessage) : undefined;
    case 'finished':
      return num('exitCode') && str('outputDir') ? (m as TrainerMessage) : undefined;
  }
  return undefined;
}

export function parseControlMessage(value: unknown): ControlMessage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const m = value as Record<string, unknown>;
  if (m.type === 'stop' && typeof m.save === 'boolean') return { type: 'stop', save: m.save };
  return undefined;
}
