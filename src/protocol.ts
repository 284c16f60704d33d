// The whole contract between a trainer process and the VS Code extension, defined once here and
// imported by both sides. The extension forks dist/trainerProcess.js with an IPC channel and
// sends one StartRequest; the trainer answers with TrainerMessage objects (process.send) and
// listens for ControlMessage objects. Both sides check the version and every field of what
// arrives. No logic lives here: types, the version, the job kinds and phases, the parsers, and
// the command line a start request stands for.
//
// To add a message: add it to the union below, to its parser's switch (TypeScript's assertNever
// then finds every switch over the union that misses it), to the test that sends every kind
// through a real child process (test/extension/protocolProcess.test.ts), and bump the version.

export const PROTOCOL_VERSION = 2;

/** What a trainer process does: the CLI's commands that the extension starts. */
export const JOB_KINDS = ['train', 'evaluate', 'predict', 'export', 'try'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Preparation phases (shown as a progress notification) and the phases of the work itself. */
export const PREPARATION_PHASES = ['loading', 'tokenizing', 'compiling'] as const;
export const PHASES = [...PREPARATION_PHASES, 'training', 'evaluating', 'predicting', 'saving'] as const;
export type PreparationPhase = (typeof PREPARATION_PHASES)[number];
export type Phase = (typeof PHASES)[number];

/** Why a run failed: the user's input (exit code 2), a failure while running (1), or this contract. */
export const FAILURE_CODES = ['bad_input', 'runtime', 'protocol'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** A failure in words, with where it is when the trainer knows (a config key, a data line, a file). */
export interface Failure {
  code: FailureCode;
  /** The one line the CLI prints after "error: ". */
  message: string;
  file?: string;
  /** A config key path, e.g. "training.learning_rate". */
  key?: string;
  /** 1-based line in `file`. */
  line?: number;
}

/**
 * One input to try a model on (`onnx-trainer try`, the editor's Try view): text (a second text
 * for pairs), a question with its context, an image file, or a data record as JSON.
 */
export interface TryInput {
  text?: string;
  textPair?: string;
  question?: string;
  context?: string;
  image?: string;
  /** A data record as the config's data files hold it (features of a tabular model). */
  record?: string;
}

/** The model's answer to a TryInput, in the natural form of its task. */
export type TryAnswer =
  /** Classification: every label with its probability (softmax; sigmoid when multi-label), best first. */
  | { kind: 'labels'; multiLabel: boolean; labels: { label: string; score: number; predicted: boolean }[] }
  /** Regression: the predicted value(s). */
  | { kind: 'values'; values: number[] }
  /** Token classification: a tag per word. */
  | { kind: 'tags'; words: string[]; tags: string[] }
  /** Question answering: the answer span, and where it starts in the context (-1 when not found). */
  | { kind: 'span'; answer: string; context: string; start: number }
  /** Fill-mask: the top candidates of each masked position. */
  | { kind: 'fills'; fills: { position: number; candidates: { token: string; score: number }[] }[] }
  /** Causal LM: the prompt's continuation. */
  | { kind: 'generation'; prompt: string; text: string };

/** The first message the extension sends: what to run. */
export interface StartRequest {
  type: 'start';
  version: number;
  command: JobKind;
  /** The config file (absolute path). */
  config: string;
  /** train: resume from this checkpoint folder, or `true` for the latest. */
  resume?: string | true;
  /** evaluate / predict / export: the checkpoint folder whose weights to use. */
  checkpoint?: string;
  /** predict: the predictions file; export: the folder. */
  output?: string;
  /** export: only the LoRA adapter files. */
  adapterOnly?: boolean;
  /** try: the input to answer (the answer is written as JSON to `output`). */
  input?: TryInput;
}

/** What a job needs besides its kind and config (the CLI's options). */
export type JobOptions = Pick<StartRequest, 'resume' | 'checkpoint' | 'output' | 'adapterOnly' | 'input'>;

export type ControlMessage =
  | StartRequest
  /** Stop training after the current step; `save` writes a checkpoint first. */
  | { type: 'stop'; save: boolean };

export type TrainerMessage =
  /** The process is up and has read its config. */
  | { type: 'started'; version: number; pid: number; command: JobKind; config: string; outputDir: string }
  /** A long preparation step (shown as a progress notification), or the work starting. */
  | { type: 'phase'; phase: Phase; message: string }
  /** Training progress, at most a few times a second. */
  | { type: 'progress'; step: number; maxSteps: number; epoch: number; samplesPerSecond: number; etaSeconds: number | null; loss: number | null }
  /** One log_history entry as written to trainer_state.json (step included; a non-finite value arrives as null). */
  | { type: 'log'; entry: Record<string, number | null> }
  /** A checkpoint folder was written (complete, renamed into place). */
  | { type: 'checkpoint'; path: string; step: number }
  /** The run failed; `exitCode` 2 for bad input, 1 otherwise. */
  | ({ type: 'error'; exitCode: number } & Failure)
  /** The command ended; the process exits right after. */
  | { type: 'finished'; exitCode: number; outputDir: string };

/** Exit codes of a run stopped on request (SIGINT / the extension's stop: 130, SIGTERM: 143), not failed. */
export const STOPPED_EXIT_CODES: readonly number[] = [130, 143];

/** For the `default` of a switch over a union: a missed case is a type error. */
export function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}

/** A version that is not ours, in words both sides print. */
export function versionMismatch(theirs: unknown, side: 'trainer' | 'extension'): string | undefined {
  if (theirs === PROTOCOL_VERSION) return undefined;
  const other = side === 'trainer' ? 'extension' : 'trainer';
  return `the ${other} speaks protocol version ${String(theirs)} and this ${side} version ${PROTOCOL_VERSION}: the extension and its trainer come from different builds (reinstall the extension)`;
}

type Fields = Record<string, unknown>;
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isOneOf = <T extends string>(list: readonly T[], v: unknown): v is T => typeof v === 'string' && (list as readonly string[]).includes(v);
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const numOrNull = (v: unknown) => v === null || isNum(v);

function isLogEntry(v: unknown): v is Record<string, number | null> {
  // The IPC channel serializes as JSON: a non-finite value arrives as null.
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => x === null || typeof x === 'number');
}

function isFailure(m: Fields): boolean {
  return isOneOf(FAILURE_CODES, m.code) && isStr(m.message) && optional(m.file, isStr) && optional(m.key, isStr) && optional(m.line, isNum);
}

const TRY_FIELDS = ['text', 'textPair', 'question', 'context', 'image', 'record'] as const;
const TRY_FLAGS: Record<(typeof TRY_FIELDS)[number], string> = { text: '--text', textPair: '--text-pair', question: '--question', context: '--context', image: '--image', record: '--record' };

function isTryInput(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const m = v as Fields;
  return Object.keys(m).every((k) => (TRY_FIELDS as readonly string[]).includes(k)) && TRY_FIELDS.every((k) => optional(m[k], isStr));
}

/** `value` if it is a TrainerMessage with every field of its kind, else undefined. */
export function parseTrainerMessage(value: unknown): TrainerMessage | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const m = value as Fields & { type?: unknown };
  const ok = (() => {
    const type = m.type as TrainerMessage['type'];
    switch (type) {
      case 'started':
        return isNum(m.version) && isNum(m.pid) && isOneOf(JOB_KINDS, m.command) && isStr(m.config) && isStr(m.outputDir);
      case 'phase':
        return isOneOf(PHASES, m.phase) && isStr(m.message);
      case 'progress':
        return isNum(m.step) && isNum(m.maxSteps) && isNum(m.epoch) && isNum(m.samplesPerSecond) && numOrNull(m.etaSeconds) && numOrNull(m.loss);
      case 'log':
        return isLogEntry(m.entry);
      case 'checkpoint':
        return isStr(m.path) && isNum(m.step);
      case 'error':
        return isNum(m.exitCode) && isFailure(m);
      case 'finished':
        return isNum(m.exitCode) && isStr(m.outputDir);
      default:
        return false;
    }
  })();
  return ok ? (m as TrainerMessage) : undefined;
}

/** `value` if it is a ControlMessage with every field of its kind, else undefined. */
export function parseControlMessage(value: unknown): ControlMessage | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const m = value as Fields & { type?: unknown };
  const type = m.type as ControlMessage['type'];
  switch (type) {
    case 'start':
      return isNum(m.version) && isOneOf(JOB_KINDS, m.command) && isStr(m.config) && optional(m.resume, (v) => v === true || isStr(v)) &&
        optional(m.checkpoint, isStr) && optional(m.output, isStr) && optional(m.adapterOnly, (v) => typeof v === 'boolean') && optional(m.input, isTryInput)
        ? (m as unknown as StartRequest) : undefined;
    case 'stop':
      return typeof m.save === 'boolean' ? { type: 'stop', save: m.save } : undefined;
    default:
      return undefined;
  }
}

/**
 * What a start request means: the CLI's command line (the CLI is the one implementation of each
 * job; the extension's Output channel shows the same line).
 */
export function startArgv(request: StartRequest): string[] {
  const args: string[] = [request.command, request.config];
  if (request.resume === true) args.push('--resume');
  else if (request.resume !== undefined) args.push('--resume', request.resume);
  if (request.checkpoint !== undefined) args.push('--checkpoint', request.checkpoint);
  if (request.output !== undefined) args.push('--output', request.output);
  if (request.adapterOnly) args.push('--adapter-only');
  for (const k of TRY_FIELDS) {
    const v = request.input?.[k];
    if (v !== undefined) args.push(TRY_FLAGS[k], v);
  }
  return args;
}
