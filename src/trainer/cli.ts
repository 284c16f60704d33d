// onnx-trainer: train / evaluate / predict / export from a config file, check a model, print
// the config schema. Exit codes: 0 success, 2 bad config, data or model (one clear message, no
// stack trace, nothing written), 1 a failure while running, 130 / 143 stopped by SIGINT /
// SIGTERM (checkpoint saved, no final model).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UnsupportedOpError } from './autodiff/backward';
import { TrainerConfig, configSchema, loadConfig } from './config/config';
import { UserError } from './errors';
import { HostCallbacks, JobKind, PhaseReporter, checkOutputDir, prepareJob } from './job';
import { defaultLoggingDir, tensorboardCallback } from './logging/tensorboard';
import { formatReport, inspectModel, trainable } from './inspect';
import { jsonlLogCallback } from './logging/jsonl';
import { progressCallback } from './logging/progress';
import { StopRequest, TrainerCallback, stopCallback } from './loop/callbacks';
import { ModelFormatError } from './onnx/model';
import { PrepareError } from './programs/prepare';
import { DeviceError } from './programs/session';
import { ScheduleError } from './loop/schedules';
import { writePredictions } from './loop/predictions';
import { lastCheckpoint } from './loop/checkpoints';
import { failureLine, printable } from './failures';

const USAGE = `usage: onnx-trainer <command> [options]

commands:
  train CONFIG [--resume [CHECKPOINT]]   train as the config says (resume: latest or given checkpoint)
  evaluate CONFIG [--checkpoint DIR]     evaluate the final model or a checkpoint on data.eval
  predict CONFIG [--checkpoint DIR] [--output FILE]
                                         write predictions for data.test as JSONL
  export CONFIG --checkpoint DIR --output DIR
                                         write a checkpoint's inference-ready model.onnx
  check MODEL [--output NAME]            list operators, trainable parameters, unsupported ops
  schema                                 print the config file's JSON Schema

Exit codes: 0 success, 2 bad config / data / model, 1 failure while running,
130 / 143 stopped by Ctrl+C / SIGTERM (a checkpoint saved; resume with --resume).`;

/** 128 + the signal's number, as shells report a process a signal ended. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Errors a user fixes by changing a file: reported in one line with exit code 2. */
function isUserFacing(e: unknown): e is Error {
  return e instanceof UserError || e instanceof ModelFormatError || e instanceof PrepareError ||
    e instanceof UnsupportedOpError || e instanceof DeviceError || e instanceof ScheduleError;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
}

/** What a host process (the extension's trainer process) adds to a command. */
export interface Hooks {
  callbacks?: TrainerCallback[];
  onPhase?: PhaseReporter;
  stop?: StopRequest;
  /** Told the config's output_dir once the config is read. */
  onConfig?: (config: TrainerConfig) => void;
}

function runCallbacks(config: TrainerConfig, io: Io, hooks: Hooks): HostCallbacks {
  const args = config.training;
  const reporting = [jsonlLogCallback(args.output_dir)];
  if (args.report_to.includes('tensorboard')) reporting.push(tensorboardCallback(args.logging_dir ?? defaultLoggingDir(args.output_dir)));
  return {
    reporting,
    interrupted: () => !!hooks.stop?.requested,
    after: [
      ...(hooks.stop ? [stopCallback(hooks.stop)] : []),
      ...(hooks.callbacks ?? []),
      progressCallback({ bar: io.isTTY && !args.disable_tqdm, write: io.err, samplesPerStep: args.per_device_train_batch_size * args.gradient_accumulation_steps }),
    ],
  };
}

function readConfig(file: string, hooks: Hooks): TrainerConfig {
  const config = loadConfig(file);
  hooks.onConfig?.(config);
  return config;
}

/** Trains; returns the exit code (0, or 130 / 143 when a stop request interrupted the run). */
async function train(configFile: string, resume: string | boolean | undefined, io: Io, hooks: Hooks): Promise<number> {
  const config = readConfig(configFile, hooks);
  const resumeFrom = resume ?? config.training.resume_from_checkpoint ?? undefined;
  checkOutputDir(config, !!resumeFrom);
  const job = await prepareJob(config, 'train', runCallbacks(config, io, hooks), hooks.onPhase);
  const result = await job.trainer.train(typeof resumeFrom === 'string' ? path.resolve(resumeFrom) : resumeFrom);
  await job.trainer.release();
  const out = config.training.output_dir;
  if (result.interrupted) {
    // Interrupted is not finished: no final model, and an exit code scripts can tell apart.
    const saved = lastCheckpoint(out);
    io.out(`stopped at step ${result.global_step}; ${saved ? `resume with: onnx-trainer train ${configFile} --resume (from ${path.basename(saved)})` : 'no checkpoint was saved, so nothing can be resumed'}\n`);
    return SIGNAL_EXIT[hooks.stop?.signal ?? 'SIGINT'];
  }
  job.trainer.saveModel(out);
  const model = path.join(out, 'model.onnx');
  if (result.trained_steps === 0) io.out(`nothing to train: the run had already reached max_steps (${result.global_step}); model written to ${model}\n`);
  else io.out(`trained ${result.global_step} steps, train_loss ${result.training_loss.toFixed(4)}; model written to ${model}\n`);
  return 0;
}

function checkpointOrFinal(config: TrainerConfig, checkpoint: string | undefined): string {
  const dir = checkpoint ? path.resolve(checkpoint) : config.training.output_dir;
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    throw new UserError(`${dir}: no trained model here (model.safetensors missing); train first or pass --checkpoint`);
  }
  return dir;
}

async function evaluate(configFile: string, checkpoint: string | undefined, io: Io, hooks: Hooks): Promise<void> {
  const config = readConfig(configFile, hooks);
  const weights = checkpointOrFinal(config, checkpoint);
  const job = await prepareJob(config, 'evaluate', { after: hooks.callbacks }, hooks.onPhase, weights);
  job.trainer.loadCheckpointWeights(weights);
  const metrics = await job.trainer.evaluate();
  await job.trainer.release();
  io.out(JSON.stringify(metrics, null, 2) + '\n');
}

async function predict(configFile: string, checkpoint: string | undefined, output: string | undefined, io: Io, hooks: Hooks): Promise<void> {
  const config = readConfig(configFile, hooks);
  const weights = checkpointOrFinal(config, checkpoint);
  const job = await prepareJob(config, 'predict', { after: hooks.callbacks }, hooks.onPhase, weights);
  job.trainer.loadCheckpointWeights(weights);
  const result = await job.trainer.predict(job.test!);
  await job.trainer.release();
  const file = path.resolve(output ?? path.join(config.training.output_dir, 'predictions.jsonl'));
  writePredictions(file, job.test!, result.predictions, config.model.problem_type, job.labelNames);
  io.out(`wrote ${result.predictions.n} predictions to ${file}\n`);
  if (Object.keys(result.metrics).length) io.out(JSON.stringify(result.metrics, null, 2) + '\n');
}

async function exportCheckpoint(configFile: string, checkpoint: string | undefined, output: string | undefined, io: Io, hooks: Hooks): Promise<void> {
  const config = readConfig(configFile, hooks);
  if (!output) throw new UserError('export needs --output DIR');
  const weights = checkpointOrFinal(config, checkpoint);
  const job = await prepareJob(config, 'export', {}, () => {}, weights);
  job.trainer.loadCheckpointWeights(weights);
  job.trainer.saveModel(path.resolve(output));
  io.out(`exported ${path.join(path.resolve(output), 'model.onnx')}\n`);
}

export async function main(argv: string[], io: Io, hooks: Hooks = {}): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        resume: { type: 'boolean' },
        checkpoint: { type: 'string' },
        output: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (!command || command === '--help' || command === '-h' || values.help) {
      io.out(USAGE + '\n');
      return command ? 0 : 2;
    }
    const need = (what: string) => {
      if (!positionals[0]) throw new UserError(`${command} needs ${what}\n\n${USAGE}`);
      return positionals[0];
    };
    switch (command as JobKind | 'check' | 'schema') {
      case 'train': {
        // `--resume` alone means the latest checkpoint; `--resume DIR` a given one.
        const resume = values.resume ? (positionals[1] ?? true) : undefined;
        return await train(need('a config file'), resume, io, hooks);
      }
      case 'evaluate':
        await evaluate(need('a config file'), values.checkpoint, io, hooks);
        return 0;
      case 'predict':
        await predict(need('a config file'), values.checkpoint, values.output, io, hooks);
        return 0;
      case 'export':
        await exportCheckpoint(need('a config file'), values.checkpoint, values.output, io, hooks);
        return 0;
      case 'check': {
        const report = inspectModel(path.resolve(need('a model file')), values.output);
        io.out(formatReport(report) + '\n');
        return trainable(report) ? 0 : 2;
      }
      case 'schema':
        io.out(JSON.stringify(configSchema(), null, 2) + '\n');
        return 0;
      default:
        throw new UserError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (e) {
    if (isUserFacing(e)) {
      io.err(`error: ${printable(e.message)}\n`);
      return 2;
    }
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      io.err(`error: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    io.err(`error: ${failureLine(err)}\n${process.env.TRAINER_DEBUG ? `${err.stack}\n` : ''}`);
    return 1;
  }
}

export const processIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: !!process.stderr.isTTY,
};

/**
 * Ctrl+C (or SIGTERM) stops training gracefully: a checkpoint is saved after the current step.
 * A second signal exits at once.
 */
export function stopOnSignals(stop: StopRequest, io: Io): void {
  const handler = (signal: NodeJS.Signals) => {
    stop.requested = true;
    stop.save = true;
    stop.signal = signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    // With no listener left, the next signal has its default effect: the process ends at once,
    // even in the middle of synchronous work (every file is written atomically, so nothing is
    // left half-written).
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    io.err(`\n${signal}: stopping after this step and saving a checkpoint (again to quit now)\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Runs the command line of this process (the bin script and `node dist/cli.js` call this). */
export function runCli(): void {
  const stop: StopRequest = { requested: false, save: true };
  stopOnSignals(stop, processIo);
  main(process.argv.slice(2), processIo, { stop }).then((code) => {
    process.exitCode = code;
  });
}

