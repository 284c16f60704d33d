// The trainer process the extension forks: the engine's command line, plus typed messages
// (src/protocol.ts) over the IPC channel — progress, log entries, checkpoints, errors, exit —
// and a "stop" control message that ends training after the current step (saving a checkpoint
// unless the user chose to discard). Run outside VS Code it behaves exactly like the CLI.

import { ControlMessage, PROTOCOL_VERSION, STOPPED_EXIT_CODES, TrainerMessage, parseControlMessage } from './protocol';
import { Io, main, processIo, stopOnSignals } from './trainer/cli';
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

export async function runTrainerProcess(argv: string[]): Promise<number> {
  const stop: StopRequest = { requested: false, save: true };
  stopOnSignals(stop, processIo);
  process.on('message', (raw) => {
    const msg: ControlMessage | undefined = parseControlMessage(raw);
    if (msg?.type === 'stop') {
      stop.requested = true;
      stop.save = msg.save;
    }
  });
  let outputDir = '';
  let lastError = '';
  let samplesPerStep = 1;
  const io: Io = {
    ...processIo,
    err: (s) => {
      if (s.startsWith('error: ')) lastError = s.slice(7).trim();
      processIo.err(s);
    },
  };
  const code = await main(argv, io, {
    stop,
    callbacks: [reporter(() => samplesPerStep)],
    onPhase: (phase, message) => send({ type: 'phase', phase, message }),
    onConfig: (config) => {
      outputDir = config.training.output_dir;
      samplesPerStep = config.training.per_device_train_batch_size * config.training.gradient_accumulation_steps;
      send({ type: 'started', version: PROTOCOL_VERSION, pid: process.pid, command: argv[0] ?? '', config: config.file, outputDir });
    },
  });
  if (code !== 0 && !STOPPED_EXIT_CODES.includes(code)) send({ type: 'error', message: lastError || `exited with code ${code}`, exitCode: code });
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
