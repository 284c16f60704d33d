// The trainer process the extension forks: the engine's command line, driven by typed messages
// (src/protocol.ts) over the IPC channel. The extension sends a start request (checked: its
// version and every field); the process answers with progress, log entries, checkpoints, a
// structured error and its exit, and honours a "stop" message that ends training after the
// current step (saving a checkpoint unless the user chose to discard). Given arguments instead
// (run outside VS Code) it behaves exactly like the CLI.

import { JOB_KINDS, PROTOCOL_VERSION, STOPPED_EXIT_CODES, StartRequest, TrainerMessage, assertNever, parseControlMessage, startArgv, versionMismatch } from './protocol';
import { main, processIo, stopOnSignals } from './trainer/cli';
import { StopRequest, TrainerCallback } from './trainer/loop/callbacks';

function send(message: TrainerMessage): void {
  process.send?.(message);
}

/** Reports progress (throttled), log entries and checkpoints as protocol messages. */
function reporter(samplesPerStep: () => number): TrainerCallback {
  let start = 0;
  let firstStep = 0;
  let last = 0;
  let loss: number | null = null;
  const progress = (step: number, maxSteps: number, epoch: number, force: boolean) => {
    const now = performance.now();
    if (!force && now - last < 250) return;
    last = now;
    const seconds = (now - start) / 1000;
    const rate = seconds > 0 ? (step - firstStep) / seconds : 0;
    send({
      type: 'progress', step, maxSteps, epoch,
      samplesPerSecond: rate * samplesPerStep(),
      etaSeconds: rate > 0 ? (maxSteps - step) / rate : null,
      loss,
    });
  };
  return {
    name: 'IpcReporter',
    on_train_begin: (_a, state) => {
      start = performance.now();
      firstStep = state.global_step;
      send({ type: 'phase', phase: 'training', message: 'Training' });
      progress(state.global_step, state.max_steps, state.epoch, true);
    },
    on_step_end: (_a, state) => progress(state.global_step, state.max_steps, state.epoch, false),
    on_log: (_a, state) => {
      const entry = state.log_history[state.log_history.length - 1];
      if (!entry) return;
      if (typeof entry.loss === 'number') loss = entry.loss;
      send({ type: 'log', entry });
    },
    on_save: (_a, state, _c, extras) => {
      if (typeof extras.checkpoint === 'string') send({ type: 'checkpoint', path: extras.checkpoint, step: state.global_step });
    },
    on_train_end: (_a, state) => progress(state.global_step, state.max_steps, state.epoch, true),
  };
}

/** Runs one job: `argv` as the CLI's, or (none given) the start request the extension sends. */
export async function runTrainerProcess(argv: string[]): Promise<number> {
  const stop: StopRequest = { requested: false, save: true };
  stopOnSignals(stop, processIo);
  let request: (start: StartRequest | undefined, problem?: string) => void = () => {};
  const started = new Promise<{ start?: StartRequest; problem?: string }>((resolve) => (request = (start, problem) => resolve({ start, problem })));
  process.on('message', (raw) => {
    const msg = parseControlMessage(raw);
    if (!msg) {
      const type = (raw as { type?: unknown } | null)?.type;
      if (type === 'start') request(undefined, versionMismatch((raw as { version?: unknown }).version, 'trainer') ?? 'the start request is missing a field or has one of the wrong type');
      return;
    }
    switch (msg.type) {
      case 'start':
        request(msg, versionMismatch(msg.version, 'trainer'));
        break;
      case 'stop':
        stop.requested = true;
        stop.save = msg.save;
        break;
      default:
        assertNever(msg);
    }
  });
  if (argv.length === 0) {
    if (!process.connected) {
      processIo.err('error: trainerProcess.js is started by the extension with an IPC channel; run bin/onnx-trainer.js for the command line\n');
      return 2;
    }
    const { start, problem } = await started;
    if (problem || !start) {
      const message = `protocol: ${problem}`;
      processIo.err(`error: ${message}\n`);
      send({ type: 'error', code: 'protocol', message, exitCode: 2 });
      send({ type: 'finished', exitCode: 2, outputDir: '' });
      return 2;
    }
    argv = startArgv(start);
  }
  let outputDir = '';
  let samplesPerStep = 1;
  let failed = false;
  const command = JOB_KINDS.find((k) => k === argv[0]);
  const code = await main(argv, processIo, {
    stop,
    callbacks: [reporter(() => samplesPerStep)],
    onPhase: (phase, message) => send({ type: 'phase', phase, message }),
    onConfig: (config) => {
      outputDir = config.training.output_dir;
      samplesPerStep = config.training.per_device_train_batch_size * config.training.gradient_accumulation_steps;
      if (command) send({ type: 'started', version: PROTOCOL_VERSION, pid: process.pid, command, config: config.file, outputDir });
    },
    onFailure: (exitCode, message, where) => {
      failed = true;
      send({ type: 'error', code: exitCode === 2 ? 'bad_input' : 'runtime', message, exitCode, ...where });
    },
  });
  if (code !== 0 && !STOPPED_EXIT_CODES.includes(code) && !failed) send({ type: 'error', code: 'runtime', message: `exited with code ${code}`, exitCode: code });
  send({ type: 'finished', exitCode: code, outputDir });
  return code;
}

if (require.main === module) {
  runTrainerProcess(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // The IPC channel would keep the process alive.
    if (process.connected) process.disconnect();
  });
}
