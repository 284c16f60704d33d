// TensorBoard logging, Hugging Face's `report_to: tensorboard`: event files of TFRecord-framed
// `Event` protos that TensorBoard reads while training runs. Only the messages written here are
// declared, with TensorFlow's field numbers (event.proto, summary.proto, tensor.proto); protobufjs
// builds the encoders from this text at load time.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appendToLog } from '../io/durable';
import * as protobuf from 'protobufjs';
import type { TrainerCallback } from '../loop/callbacks';
import { frameRecord } from './tfrecord';

const PROTO = `
syntax = "proto3";
package tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}

message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
}

message TensorShapeProto {
  message Dim { int64 size = 1; }
  repeated Dim dim = 2;
}

message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated bytes string_val = 8;
}
`;

const Event = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('tensorboard.Event');

/** TensorFlow's DataType enum value for strings. */
const DT_STRING = 7;

/** The version string TensorBoard expects in the first event of every file. */
export const FILE_VERSION = 'brain.Event:2';
export const EVENT_FILE_PREFIX = 'events.out.tfevents.';

/** Distinguishes writers this process opens within one second, as tensorboardX's global uid does. */
let fileCounter = 0;

/**
 * Writes one event file in `logDir`. Nothing touches the disk until the first event; then the
 * folder and file are created and the file-version event written. Each event is appended and
 * the file closed again, so a killed process leaves every record it wrote readable.
 */
export class EventFileWriter {
  private path: string | undefined;

  constructor(readonly logDir: string) {}

  /** The event file, once the first event has created it. */
  get file(): string | undefined {
    return this.path;
  }

  addScalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    this.write({ wall_time: wallTime, step, summary: { value: [{ tag, simple_value: value }] } });
  }

  /** A text summary as tensorboardX's add_text writes it: tag `<tag>/text_summary`, the text plugin. */
  addText(tag: string, text: string, step: number, wallTime = Date.now() / 1000): void {
    const tensor = { dtype: DT_STRING, tensor_shape: { dim: [{ size: 1 }] }, string_val: [Buffer.from(text, 'utf8')] };
    const metadata = { plugin_data: { plugin_name: 'text' } };
    this.write({ wall_time: wallTime, step, summary: { value: [{ tag: `${tag}/text_summary`, metadata, tensor }] } });
  }

  /** Ends this file: the next event starts a new one (as Hugging Face reopens its writer after train()). */
  close(): void {
    this.path = undefined;
  }

  private write(event: Record<string, unknown>): void {
    appendToLog(this.open(), encode(event));
  }

  private open(): string {
    if (this.path) return this.path;
    fs.mkdirSync(this.logDir, { recursive: true });
    const seconds = Math.floor(Date.now() / 1000);
    // 'wx' fails if the name exists (another writer, same second and pid): take the next counter.
    for (;;) {
      const file = path.join(this.logDir, `${EVENT_FILE_PREFIX}${seconds}.${os.hostname()}.${process.pid}.${fileCounter++}`);
      let fd: number;
      try {
        fd = fs.openSync(file, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      try {
        fs.writeFileSync(fd, encode({ wall_time: Date.now() / 1000, file_version: FILE_VERSION }));
      } finally {
        fs.closeSync(fd);
      }
      this.path = file;
      return file;
    }
  }
}

function encode(event: Record<string, unknown>): Buffer {
  return frameRecord(Event.encode(Event.fromObject(event)).finish());
}

/** Hugging Face's rewrite_logs: `eval_x` → `eval/x`, `test_x` → `test/x`, anything else `train/<key>`. */
export function rewriteLogTag(key: string): string {
  if (key.startsWith('eval_')) return `eval/${key.slice(5)}`;
  if (key.startsWith('test_')) return `test/${key.slice(5)}`;
  return `train/${key}`;
}

/**
 * Hugging Face's TensorBoardCallback: the training arguments as text when training begins, then
 * one scalar per numeric logged value at the global step. NaN and infinities are written too:
 * TensorBoard shows them, and a diverging loss is worth seeing.
 */
export function tensorboardCallback(logDir: string): TrainerCallback {
  const writer = new EventFileWriter(logDir);
  return {
    name: 'TensorBoardCallback',
    on_train_begin: (args, state) => {
      writer.addText('args', JSON.stringify(args, null, 2), state.global_step);
    },
    on_log: (_args, state, _control, extras) => {
      const wallTime = Date.now() / 1000;
      for (const [key, value] of Object.entries(extras.logs ?? {})) {
        if (typeof value === 'number') writer.addScalar(rewriteLogTag(key), value, state.global_step, wallTime);
      }
    },
    on_train_end: () => writer.close(),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Hugging Face's default logging_dir: `<output_dir>/runs/<%b%d_%H-%M-%S>_<hostname>`, local time. */
export function defaultLoggingDir(outputDir: string, now = new Date(), hostname = os.hostname()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${MONTHS[now.getMonth()]}${two(now.getDate())}_${two(now.getHours())}-${two(now.getMinutes())}-${two(now.getSeconds())}`;
  return path.join(outputDir, 'runs', `${stamp}_${hostname}`);
}
