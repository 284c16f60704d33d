// One trainer process: dist/trainerProcess.js forked with an IPC channel, never the engine inside
// the extension host (a train step's session.run blocks its thread). It turns the process's
// messages (src/protocol.ts) and output into events, and its end into one outcome — including
// deaths that send no message (a crash, SIGKILL, out of memory), reported with the last lines
// the process printed. No `vscode` here: tests fork real trainers in plain Node.

import { ChildProcess, fork } from 'node:child_process';
import { ControlMessage, Failure, JobKind, JobOptions, PROTOCOL_VERSION, STOPPED_EXIT_CODES, StartRequest, TrainerMessage, parseTrainerMessage, startArgv, versionMismatch } from '../protocol';
import { allocatorEnv } from '../allocator';
import { Disposable, Emitter } from './events';

// Terminal colour and cursor codes, left out of the lines kept for crash reports.
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

export interface TrainerProcessOptions {
  /** dist/trainerProcess.js of the extension. */
  script: string;
  command: JobKind;
  config: string;
  /** The job's options: resume, checkpoint, output. */
  job?: JobOptions;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Lines of output kept for the report of a process that dies. */
  keepLines?: number;
}

export type Outcome =
  /** Exit code 0, not stopped early. */
  | { kind: 'finished' }
  /** Stopped by the user (a checkpoint saved unless they discarded it), or cancelled before training. */
  | { kind: 'stopped'; saved: boolean }
  /** A clean failure the trainer reported (exit code 2: bad config or data; 1: error while running), with where it is. */
  | ({ kind: 'error'; exitCode: number } & Failure)
  /** The process died without saying why: crash, signal, out of memory. */
  | { kind: 'crashed'; exitCode: number | null; signal: NodeJS.Signals | null; lastLines: string[] };

/** A forked trainer process with typed events; dispose() leaves no process and no listener. */
export class TrainerProcess implements Disposable {
  private readonly messageEmitter = new Emitter<TrainerMessage>();
  private readonly outputEmitter = new Emitter<string>();
  private readonly exitEmitter = new Emitter<Outcome>();
  /** Messages from the trainer, checked against the protocol. */
  readonly onMessage = this.messageEmitter.event;
  /** Output text (stdout and stderr, as they come). */
  readonly onOutput = this.outputEmitter.event;
  /** Fires once, when the process has exited. */
  readonly onExit = this.exitEmitter.event;

  private child: ChildProcess | undefined;
  private readonly lines: string[] = [];
  private linePending = '';
  private finishedCode: number | undefined;
  private reportedError: Failure | undefined;
  private stopRequest: { save: boolean } | undefined;
  private killed = false;
  private exited: Outcome | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  readonly pid: number | undefined;
  private readonly request: StartRequest;

  constructor(private readonly opts: TrainerProcessOptions) {
    const child = fork(opts.script, [], {
      cwd: opts.cwd,
      // glibc's malloc settings for training (src/allocator.ts), unless the environment sets them.
      env: { ...allocatorEnv({ ...process.env, ...opts.env }), ...process.env, ...opts.env },
      // stdin closed; stdout and stderr piped into the Output channel; IPC for messages.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // The extension host's own flags (inspector ports, loaders) are not the trainer's.
      execArgv: [],
    });
    this.child = child;
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', this.onData);
    child.stderr?.on('data', this.onData);
    child.on('message', this.onRawMessage);
    child.on('error', this.onError);
    // 'close' comes after the last output has been read, so a crash report has its final lines.
    child.on('close', this.onChildExit);
    // What to run travels as a typed, versioned message rather than as arguments.
    this.request = { type: 'start', version: PROTOCOL_VERSION, command: opts.command, config: opts.config, ...opts.job };
    child.send(this.request satisfies ControlMessage, () => {});
  }

  /** The request as the equivalent command line, for the Output channel. */
  get commandLine(): string {
    return startArgv(this.request).join(' ');
  }

  get running(): boolean {
    return this.exited === undefined && this.child !== undefined;
  }

  get outcome(): Outcome | undefined {
    return this.exited;
  }

  /** The last lines the process printed (progress-bar redraws left out). */
  lastLines(): string[] {
    return this.linePending ? [...this.lines, this.linePending] : [...this.lines];
  }

  /** Asks the trainer to stop after the current step, saving a checkpoint unless `save` is false. */
  stop(save: boolean): void {
    if (!this.running) return;
    this.stopRequest = { save };
    const message: ControlMessage = { type: 'stop', save };
    if (this.child?.connected) this.child.send(message, () => {});
  }

  get stopRequested(): boolean {
    return this.stopRequest !== undefined;
  }

  /** Ends the process now (SIGKILL): nothing more is saved; finished checkpoints stay. */
  kill(): void {
    if (!this.running) return;
    this.killed = true;
    this.child?.kill('SIGKILL');
  }

  /**
   * Stops gracefully and kills the process if it has not exited after `graceMs`; resolves once
   * it has exited.
   */
  shutdown(graceMs: number, save = true): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const sub = this.onExit(() => {
        sub.dispose();
        resolve();
      });
      this.stop(save);
      this.killTimer = setTimeout(() => this.kill(), graceMs);
    });
  }

  private readonly onData = (chunk: string) => {
    this.outputEmitter.fire(chunk);
    // Progress bars redraw with \r: only the text after the last \r of a line is kept.
    const parts = (this.linePending + chunk).split('\n');
    this.linePending = (parts.pop() ?? '').split('\r').pop() ?? '';
    for (const p of parts) {
      const line = (p.split('\r').filter((s) => s.trim()).pop() ?? '').replace(ANSI_ESCAPE, '');
      if (!line.trim()) continue;
      this.lines.push(line);
      if (this.lines.length > (this.opts.keepLines ?? 20)) this.lines.shift();
    }
  };

  private readonly onRawMessage = (raw: unknown) => {
    const message = parseTrainerMessage(raw);
    if (!message) return;
    if (message.type === 'started') {
      const mismatch = versionMismatch(message.version, 'extension');
      if (mismatch) {
        this.reportedError = { code: 'protocol', message: mismatch };
        this.kill();
        return;
      }
    }
    if (message.type === 'finished') this.finishedCode = message.exitCode;
    if (message.type === 'error') this.reportedError = { code: message.code, message: message.message, file: message.file, key: message.key, line: message.line };
    this.messageEmitter.fire(message);
  };

  private readonly onError = (err: Error) => {
    // fork() failed to start the process, or a send failed; an exit event follows if it ran.
    if (this.child?.pid === undefined) this.finish({ kind: 'crashed', exitCode: null, signal: null, lastLines: [...this.lastLines(), err.message] });
  };

  private readonly onChildExit = (code: number | null, signal: NodeJS.Signals | null) => {
    this.finish(this.classify(code, signal));
  };

  private classify(code: number | null, signal: NodeJS.Signals | null): Outcome {
    if (this.reportedError?.code === 'protocol') return { kind: 'error', exitCode: code ?? 2, ...this.reportedError };
    if (this.killed) return { kind: 'stopped', saved: false };
    if (this.finishedCode !== undefined && code === this.finishedCode && signal === null) {
      if (code === 0) return this.stopRequest ? { kind: 'stopped', saved: this.stopRequest.save } : { kind: 'finished' };
      // Interrupted (the stop message, SIGINT or SIGTERM): the trainer saved unless told not to.
      if (STOPPED_EXIT_CODES.includes(code)) return { kind: 'stopped', saved: this.stopRequest?.save ?? true };
      return { kind: 'error', exitCode: code, ...(this.reportedError ?? { code: 'runtime', message: `exited with code ${code}` }) };
    }
    return { kind: 'crashed', exitCode: code, signal, lastLines: this.lastLines() };
  }

  private finish(outcome: Outcome) {
    if (this.exited) return;
    this.exited = outcome;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.detach();
    this.exitEmitter.fire(outcome);
  }

  private detach() {
    const child = this.child;
    if (!child) return;
    child.stdout?.off('data', this.onData);
    child.stderr?.off('data', this.onData);
    child.off('message', this.onRawMessage);
    child.off('error', this.onError);
    child.off('close', this.onChildExit);
    // Closing our ends lets the process (and this one) exit without waiting on pipes.
    child.stdout?.destroy();
    child.stderr?.destroy();
    if (child.connected) child.disconnect();
  }

  /** Listeners still attached to the child process (for tests: zero after exit or dispose). */
  get attachedListeners(): number {
    const c = this.child;
    if (!c) return 0;
    return c.listenerCount('message') + c.listenerCount('close') + c.listenerCount('error') +
      (c.stdout?.listenerCount('data') ?? 0) + (c.stderr?.listenerCount('data') ?? 0);
  }

  /** Listeners subscribed to this object's events. */
  get subscribers(): number {
    return this.messageEmitter.listenerCount + this.outputEmitter.listenerCount + this.exitEmitter.listenerCount;
  }

  /** Kills the process if it still runs and removes every listener. */
  dispose(): void {
    if (this.running) {
      this.killed = true;
      this.child?.kill('SIGKILL');
      // The exit event will not be listened to any more: report the outcome now.
      this.finish({ kind: 'stopped', saved: false });
    }
    if (this.killTimer) clearTimeout(this.killTimer);
    this.detach();
    this.messageEmitter.dispose();
    this.outputEmitter.dispose();
    this.exitEmitter.dispose();
  }
}
