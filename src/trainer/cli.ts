// onnx-trainer: train / evaluate / predict / export from a config file, check a model, print
// the config schema. Exit codes: 0 success, 2 bad config, data or model (one clear message, no
// stack trace, nothing written), 1 a failure while running, 130 / 143 stopped by SIGINT /
// SIGTERM (checkpoint saved, no final model).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UnsupportedOpError } from './autodiff/backward';
import { TrainerConfig, configSchema, parseConfig } from './config/config';
import { ConfigDocument } from './config/document';
import { folderFiles, hubReferenceIn } from './config/modelSource';
import { chooseOnnxFile } from './hub/modelFiles';
import { downloadProgress } from './hub/progress';
import { HubReference, formatHubReference, isHubPath, parseHubReference } from './hub/reference';
import { downloadHubModel } from './hub/snapshot';
import { hubSettings } from './hub/settings';
import { FailureLocation, UserError, locationOf } from './errors';
import { HostCallbacks, JobKind, PhaseReporter, checkOutputDir, prepareJob } from './job';
import { defaultLoggingDir, tensorboardCallback } from './logging/tensorboard';
import { formatReport, inspectConfig, inspectModel, trainable } from './inspect';
import { jsonlLogCallback } from './logging/jsonl';
import { progressCallback } from './logging/progress';
import { StopRequest, TrainerCallback, stopCallback } from './loop/callbacks';
import { Model, ModelFormatError } from './onnx/model';
import { PrepareError, PreparedModel } from './programs/prepare';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './programs/peftFiles';
import { DeviceError } from './programs/session';
import { ScheduleError } from './loop/schedules';
import { writeJsonl, writePredictions } from './loop/predictions';
import { evalReport, reportApplies, writeEvalReport } from './loop/evalReport';
import { taskPredictionRecords } from './loop/taskPredictions';
import { generateText } from './loop/generation';
import { lastCheckpoint } from './loop/checkpoints';
import { failureLine, printable } from './failures';
import { tryAnswer, tryRecord } from './tryModel';
import { writeFileDurably } from './io/durable';
import type { TryInput } from '../protocol';
import { WEIGHTS_FILE } from './runDirectory';

const USAGE = `usage: onnx-trainer <command> [options]

commands:
  train CONFIG [--resume [CHECKPOINT]]   train as the config says (resume: latest or given checkpoint)
  evaluate CONFIG [--checkpoint DIR]     evaluate the final model or a checkpoint on data.eval
  predict CONFIG [--checkpoint DIR] [--output FILE]
                                         write predictions for data.test as JSONL
  try CONFIG [--checkpoint DIR] (--text T [--text-pair T] | --question Q --context C
      | --image FILE | --record JSON) [--output FILE]
                                         the model's answer to one input, as JSON
  export CONFIG --checkpoint DIR --output DIR [--adapter-only]
                                         write a checkpoint's inference-ready model.onnx (LoRA:
                                         adapters merged; --adapter-only: peft's adapter files)
  check MODEL [--output NAME]            list operators, trainable parameters, unsupported ops
  check CONFIG                           the same for the model a config trains (LoRA: the adapters)
                                         (MODEL: an ONNX file or hf://ORG/NAME[@revision])
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
  /** Told a failure as printed (without "error: "), its exit code and where it is when known. */
  onFailure?: (exitCode: 1 | 2, message: string, where: FailureLocation) => void;
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

/** Reads the config, downloading a Hub model into the cache first so the config reads its files. */
async function readConfig(file: string, io: Io, hooks: Hooks): Promise<TrainerConfig> {
  const doc = ConfigDocument.load(path.resolve(file));
  const hub = hubReferenceIn(doc);
  if (hub) {
    hooks.onPhase?.('loading', `Downloading ${formatHubReference(hub)}`);
    await fetchHubModel(hub, io);
  }
  const config = parseConfig(doc);
  hooks.onConfig?.(config);
  return config;
}

function fetchHubModel(hub: HubReference, io: Io) {
  const settings = hubSettings();
  const progress = downloadProgress(io.err, io.isTTY && settings.progressBars);
  return downloadHubModel(hub, { settings, progress, warn: (m) => io.err(`warning: ${m}\n`) });
}

/** check's model: a local file or model folder, or hf://ORG/NAME[@revision][/file] downloaded first. */
async function modelFileFor(arg: string, io: Io): Promise<string> {
  if (!isHubPath(arg)) {
    const file = path.resolve(arg);
    if (!fs.existsSync(file) || !fs.statSync(file).isDirectory()) return file;
    return path.join(file, chooseOnnxFile(folderFiles(file), file));
  }
  let hub: HubReference;
  try {
    hub = parseHubReference(arg);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const model = await fetchHubModel(hub, io);
  return path.join(model.snapshot, model.onnxFile);
}

/** Trains; returns the exit code (0, or 130 / 143 when a stop request interrupted the run). */
async function train(configFile: string, resume: string | boolean | undefined, io: Io, hooks: Hooks): Promise<number> {
  const config = await readConfig(configFile, io, hooks);
  const resumeFrom = resume ?? config.training.resume_from_checkpoint ?? undefined;
  checkOutputDir(config, !!resumeFrom);
  const job = await prepareJob(config, 'train', runCallbacks(config, io, hooks), hooks.onPhase);
  for (const w of job.prepared.warnings) io.err(`warning: ${w}\n`);
  if (job.lora) io.err(trainableLine(job.prepared, job.lora.base) + '\n');
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
  if (!fs.existsSync(path.join(dir, WEIGHTS_FILE))) {
    throw new UserError(`${dir}: no trained model here (${WEIGHTS_FILE} missing); train first or pass --checkpoint`);
  }
  return dir;
}

/** How the report names the evaluated weights: null for output_dir's final model, else the folder (relative to output_dir when inside it). */
function evaluatedName(outputDir: string, weights: string): string | null {
  const rel = path.relative(path.resolve(outputDir), path.resolve(weights));
  if (rel === '') return null;
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(weights) : rel;
}

async function evaluate(configFile: string, checkpoint: string | undefined, io: Io, hooks: Hooks): Promise<void> {
  const config = await readConfig(configFile, io, hooks);
  const weights = checkpointOrFinal(config, checkpoint);
  const job = await prepareJob(config, 'evaluate', { after: hooks.callbacks }, hooks.onPhase, weights);
  job.trainer.loadCheckpointWeights(weights);
  const problem = config.model.problem_type;
  const reported = reportApplies(problem, config.model.task);
  const { metrics, prediction } = await job.trainer.evaluateWithPredictions(undefined, 'eval', reported);
  await job.trainer.release();
  io.out(JSON.stringify(metrics, null, 2) + '\n');
  if (!reported || !job.eval?.hasLabels) return;
  // The report always lands in output_dir, where the extension watches; it names the checkpoint.
  const out = config.training.output_dir;
  const data = job.eval;
  const report = evalReport(prediction, { problemType: problem, numLabels: job.trainer.card().num_labels, names: job.labelNames, dataFile: path.resolve(data.file), lineOf: (i) => data.example(i).line, imageOf: (i) => data.example(i).image, checkpoint: evaluatedName(out, weights) });
  // stdout stays the metrics JSON alone, which scripts parse.
  io.err(`wrote ${writeEvalReport(out, report)} (${report.misclassified_total} of ${report.num_samples} misclassified)\n`);
}

async function predict(configFile: string, checkpoint: string | undefined, output: string | undefined, io: Io, hooks: Hooks): Promise<void> {
  const config = await readConfig(configFile, io, hooks);
  const file = path.resolve(output ?? path.join(config.training.output_dir, 'predictions.jsonl'));
  const { count, metrics } = await predictToFile(config, checkpointOrFinal(config, checkpoint), file, hooks);
  io.out(`wrote ${count} predictions to ${file}\n`);
  if (Object.keys(metrics).length) io.out(JSON.stringify(metrics, null, 2) + '\n');
}

/** Runs `predict` on data.test (or data.eval) with the weights in `weights`; writes the records to `file`. */
async function predictToFile(config: TrainerConfig, weights: string, file: string, hooks: Hooks): Promise<{ count: number; metrics: Record<string, number>; labelNames?: string[] }> {
  const job = await prepareJob(config, 'predict', { after: hooks.callbacks }, hooks.onPhase, weights);
  job.trainer.loadCheckpointWeights(weights);
  const result = await job.trainer.predict(job.test!);
  const task = config.model.task;
  const tokenizer = job.tokenizer;
  const special = new Set(Object.values(tokenizer?.specialTokenIds ?? {}).filter((v): v is number => v !== undefined));
  const generated = task === 'text-generation'
    ? await generateText(job.prepared, job.trainer.training, job.test!, config.generation, { ids: special, eosId: tokenizer?.specialTokenIds.eos, seed: config.training.seed }, { device: config.device })
    : undefined;
  await job.trainer.release();
  if (task === 'text-classification') writePredictions(file, job.test!, result.predictions, config.model.problem_type, job.labelNames);
  else writeJsonl(file, taskPredictionRecords(task, job.test!, result.predictions, { decode: tokenizer && ((ids) => tokenizer.decode(ids)), names: job.labelNames }, generated));
  return { count: result.predictions.n, metrics: result.metrics, labelNames: job.labelNames };
}

/**
 * `try`: one input through the predict path (a one-record data file in a temporary folder) and
 * its answer as JSON, printed or written to `output`.
 */
async function tryModel(configFile: string, checkpoint: string | undefined, input: TryInput, output: string | undefined, io: Io, hooks: Hooks): Promise<void> {
  const config = await readConfig(configFile, io, hooks);
  const weights = checkpointOrFinal(config, checkpoint);
  const record = tryRecord(config, input);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-trainer-try-'));
  try {
    const data = path.join(tmp, 'input.jsonl');
    writeFileDurably(data, JSON.stringify(record) + '\n');
    const predictions = path.join(tmp, 'predictions.jsonl');
    const { labelNames } = await predictToFile({ ...config, data: { ...config.data, test: data } }, weights, predictions, hooks).catch((e: unknown) => {
      // A refusal of the one-record file is a refusal of the input: say so, not the temporary path.
      if (e instanceof UserError && e.message.startsWith(data)) throw new UserError(`the input${e.message.slice(data.length).replace(/^:1:/, ':')}`);
      throw e;
    });
    const answer = tryAnswer(config, input, JSON.parse(fs.readFileSync(predictions, 'utf8').split('\n')[0]), labelNames);
    const text = JSON.stringify(answer, null, 2) + '\n';
    if (output) writeFileDurably(path.resolve(output), text);
    else io.out(text);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** peft's print_trainable_parameters line: the trained values against all the model's parameters. */
function trainableLine(prepared: PreparedModel, base: Model): string {
  const count = (dims: number[]) => dims.reduce((a, d) => a * d, 1);
  const trainable = prepared.params.reduce((n, p) => n + count(p.dims), 0);
  // Values of the export's Constant nodes (folded shapes, scales) were never PyTorch parameters.
  const constants = new Set(base.graph.nodes.filter((n) => n.op === 'Constant').flatMap((n) => n.outputs));
  const frozen = prepared.frozen.filter((f) => !constants.has(f)).map((f) => prepared.graph.initializers.get(f)!)
    .filter((t) => t.dims.length >= 1).reduce((n, t) => n + count(t.dims), 0);
  const all = trainable + frozen;
  return `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${(100 * trainable / all).toFixed(4)}`;
}

async function exportCheckpoint(configFile: string, checkpoint: string | undefined, output: string | undefined, adapterOnly: boolean, io: Io, hooks: Hooks): Promise<void> {
  const config = await readConfig(configFile, io, hooks);
  if (!output) throw new UserError('export needs --output DIR');
  if (adapterOnly && !config.model.lora) throw new UserError(`${config.file}: --adapter-only needs model.lora (this model has no adapters)`);
  const weights = checkpointOrFinal(config, checkpoint);
  const job = await prepareJob(config, 'export', {}, () => {}, weights);
  job.trainer.loadCheckpointWeights(weights);
  const dir = path.resolve(output);
  if (adapterOnly) {
    fs.mkdirSync(dir, { recursive: true });
    job.trainer.writeAdapter(dir);
    io.out(`exported ${path.join(dir, ADAPTER_WEIGHTS_FILE)} and ${ADAPTER_CONFIG_FILE}\n`);
    return;
  }
  // A LoRA model is exported as its base model with the adapters merged: no extra nodes at inference.
  if (job.lora) job.trainer.saveMergedModel(dir);
  else job.trainer.saveModel(dir);
  io.out(`exported ${path.join(dir, 'model.onnx')}\n`);
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
        'adapter-only': { type: 'boolean' },
        text: { type: 'string' },
        'text-pair': { type: 'string' },
        question: { type: 'string' },
        context: { type: 'string' },
        image: { type: 'string' },
        record: { type: 'string' },
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
      case 'try': {
        const input: TryInput = { text: values.text, textPair: values['text-pair'], question: values.question, context: values.context, image: values.image && path.resolve(values.image), record: values.record };
        await tryModel(need('a config file'), values.checkpoint, input, values.output, io, hooks);
        return 0;
      }
      case 'export':
        await exportCheckpoint(need('a config file'), values.checkpoint, values.output, !!values['adapter-only'], io, hooks);
        return 0;
      case 'check': {
        const target = need('a model file, folder, hf:// name or config file');
        const report = /\.(ya?ml|json)$/i.test(target) ? inspectConfig(await readConfig(path.resolve(target), io, hooks)) : inspectModel(await modelFileFor(target, io), values.output);
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
    const fail = (exitCode: 1 | 2, line: string, usage = '') => {
      io.err(`error: ${line}\n${usage}`);
      hooks.onFailure?.(exitCode, line.split('\n')[0], locationOf(e));
      return exitCode;
    };
    if (isUserFacing(e)) return fail(2, printable(e.message));
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return fail(2, err.message, `\n${USAGE}\n`);
    return fail(1, failureLine(err), process.env.TRAINER_DEBUG ? `${err.stack}\n` : '');
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

