// TensorBoard event files, read back with a reader written here independently of the writer:
// its own TFRecord parser, a bitwise CRC32C (no table) and a minimal protobuf wire decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { ConfigDocument } from '../../src/trainer/config/document';
import { parseTrainingArguments } from '../../src/trainer/config/trainingArguments';
import { CallbackList } from '../../src/trainer/loop/callbacks';
import { LogEntry, TrainerControl, TrainerState } from '../../src/trainer/loop/state';
import { EventFileWriter, defaultLoggingDir, rewriteLogTag, tensorboardCallback } from '../../src/trainer/logging/tensorboard';

// ---- reader -------------------------------------------------------------------------------

function crc32cBitwise(bytes: Uint8Array): number {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function masked(bytes: Uint8Array): number {
  const c = crc32cBitwise(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** The data of each record; throws on a bad length or data CRC, or a truncated record. */
function readRecords(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 12 > buf.length) throw new Error(`truncated header at ${at}`);
    const len = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== masked(buf.subarray(at, at + 8))) throw new Error(`length CRC mismatch at ${at}`);
    const end = at + 12 + len;
    if (end + 4 > buf.length) throw new Error(`truncated record at ${at}`);
    const data = buf.subarray(at + 12, end);
    if (buf.readUInt32LE(end) !== masked(data)) throw new Error(`data CRC mismatch at ${at}`);
    out.push(data);
    at = end + 4;
  }
  return out;
}

type Field = { no: number; wire: number; varint?: bigint; bytes?: Buffer; fixed?: Buffer };

/** Splits a message into its fields (wire types 0, 1, 2, 5). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[at++];
      if (b === undefined) throw new Error('truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const f: Field = { no: key >>> 3, wire: key & 7 };
    if (f.wire === 0) f.varint = varint();
    else if (f.wire === 1 || f.wire === 5) {
      const n = f.wire === 1 ? 8 : 4;
      f.fixed = buf.subarray(at, at + n);
      at += n;
    } else if (f.wire === 2) {
      const n = Number(varint());
      f.bytes = buf.subarray(at, at + n);
      at += n;
    } else throw new Error(`wire type ${f.wire}`);
    if (at > buf.length) throw new Error('field runs past the message');
    out.push(f);
  }
  return out;
}

interface Value { tag: string; simple?: number; pluginName?: string; strings?: string[] }
interface Ev { wallTime: number; step: number; fileVersion?: string; values?: Value[] }

function decodeValue(buf: Buffer): Value {
  const v: Value = { tag: '' };
  for (const f of fields(buf)) {
    if (f.no === 1) v.tag = f.bytes!.toString('utf8');
    if (f.no === 2) v.simple = f.fixed!.readFloatLE(0);
    if (f.no === 9) {
      const pluginData = fields(f.bytes!).find((x) => x.no === 1)!;
      v.pluginName = fields(pluginData.bytes!).find((x) => x.no === 1)!.bytes!.toString('utf8');
    }
    if (f.no === 8) v.strings = fields(f.bytes!).filter((x) => x.no === 8).map((x) => x.bytes!.toString('utf8'));
  }
  return v;
}

function decodeEvent(buf: Buffer): Ev {
  // proto3: a zero wall_time or step is absent from the wire.
  const e: Ev = { wallTime: 0, step: 0 };
  for (const f of fields(buf)) {
    if (f.no === 1) e.wallTime = f.fixed!.readDoubleLE(0);
    if (f.no === 2) e.step = Number(f.varint!);
    if (f.no === 3) e.fileVersion = f.bytes!.toString('utf8');
    if (f.no === 5) e.values = fields(f.bytes!).filter((x) => x.no === 1).map((x) => decodeValue(x.bytes!));
  }
  return e;
}

function eventFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).sort().map((f) => path.join(dir, f));
}

const readEvents = (file: string) => readRecords(fs.readFileSync(file)).map(decodeEvent);

/** (tag, value, step) of every scalar in a file, in order. */
function scalars(file: string): [string, number, number][] {
  return readEvents(file).flatMap((e) => (e.values ?? []).filter((v) => v.simple !== undefined).map((v): [string, number, number] => [v.tag, v.simple!, e.step]));
}

// ---- tests --------------------------------------------------------------------------------

test('the reader\'s CRC32C matches the standard check value', () => {
  assert.equal(crc32cBitwise(Buffer.from('123456789')), 0xe3069283);
});

test('Hugging Face\'s rewrite_logs tag names', () => {
  assert.equal(rewriteLogTag('loss'), 'train/loss');
  assert.equal(rewriteLogTag('eval_accuracy'), 'eval/accuracy');
  assert.equal(rewriteLogTag('test_loss'), 'test/loss');
  assert.equal(rewriteLogTag('train_runtime'), 'train/train_runtime');
  assert.equal(rewriteLogTag('evaluation'), 'train/evaluation');
});

test('a training run through CallbackList: args text, train, eval and summary scalars at the global step', async () => {
  const logDir = path.join(tempDir('tb'), 'runs', 'x');
  const args = parseTrainingArguments(ConfigDocument.parse('t.yaml', '{}'), { output_dir: 'out', learning_rate: 0.001 });
  const callbacks = new CallbackList([tensorboardCallback(logDir)]);
  const state = new TrainerState();
  const control = new TrainerControl();
  assert.equal(fs.existsSync(logDir), false, 'nothing written before the first event');

  const before = Date.now() / 1000;
  await callbacks.fire('on_train_begin', args, state, control);
  const logs: { step: number; logs: LogEntry }[] = [
    { step: 1, logs: { loss: 2.5, grad_norm: 1.25, learning_rate: 0.001, epoch: 0.5 } },
    { step: 2, logs: { loss: 1.1, grad_norm: NaN, learning_rate: 0, epoch: 1 } },
    { step: 2, logs: { eval_loss: 0.75, eval_accuracy: 0.875, eval_runtime: 0.5, epoch: 1 } },
    { step: 2, logs: { train_runtime: 3.5, train_loss: 1.8, epoch: 1 } },
  ];
  for (const { step, logs: entry } of logs) {
    state.global_step = step;
    await callbacks.fire('on_log', args, state, control, { logs: entry });
  }
  await callbacks.fire('on_train_end', args, state, control);
  const after = Date.now() / 1000;

  const files = eventFiles(logDir);
  assert.equal(files.length, 1);
  assert.match(path.basename(files[0]), /^events\.out\.tfevents\.\d+\.[^/]+\.\d+\.\d+$/);
  const events = readEvents(files[0]);
  assert.equal(events[0].fileVersion, 'brain.Event:2');
  assert.equal(events.filter((e) => e.fileVersion !== undefined).length, 1);
  for (const e of events) assert.ok(e.wallTime >= before - 1 && e.wallTime <= after + 1, `wall_time ${e.wallTime}`);

  const text = events[1].values![0];
  assert.equal(text.tag, 'args/text_summary');
  assert.equal(text.pluginName, 'text');
  assert.equal(JSON.parse(text.strings![0]).learning_rate, 0.001);

  const expected = logs.flatMap(({ step, logs: entry }) => Object.entries(entry).map(([k, v]): [string, number, number] => [rewriteLogTag(k), Math.fround(v), step]));
  assert.deepEqual(scalars(files[0]), expected);
  const tags = expected.map(([t]) => t);
  for (const t of ['train/loss', 'train/learning_rate', 'train/epoch', 'eval/loss', 'eval/accuracy', 'train/train_runtime', 'train/train_loss']) assert.ok(tags.includes(t), t);
});

test('a log after train() ends goes to a new file, as Hugging Face reopens its writer', async () => {
  const logDir = tempDir('tb-reopen');
  const args = parseTrainingArguments(ConfigDocument.parse('t.yaml', '{}'), {});
  const callbacks = new CallbackList([tensorboardCallback(logDir)]);
  const state = new TrainerState();
  await callbacks.fire('on_log', args, state, new TrainerControl(), { logs: { loss: 1 } });
  await callbacks.fire('on_train_end', args, state, new TrainerControl());
  state.global_step = 7;
  await callbacks.fire('on_log', args, state, new TrainerControl(), { logs: { eval_loss: 0.5 } });
  const files = eventFiles(logDir);
  assert.equal(files.length, 2);
  assert.deepEqual(files.map(scalars).flat(), [['train/loss', 1, 0], ['eval/loss', 0.5, 7]]);
  for (const f of files) assert.equal(readEvents(f)[0].fileVersion, 'brain.Event:2');
});

test('a corrupted byte is caught by the data CRC, a corrupted length by the length CRC', () => {
  const dir = tempDir('tb-crc');
  const w = new EventFileWriter(dir);
  w.addScalar('train/loss', 0.5, 3);
  const good = fs.readFileSync(w.file!);
  assert.equal(readRecords(good).length, 2);

  const first = Number(good.readBigUInt64LE(0)) + 16;
  const data = Buffer.from(good);
  data[first + 12 + 3] ^= 0x01;
  assert.throws(() => readRecords(data), /data CRC mismatch/);

  const length = Buffer.from(good);
  length[first] ^= 0x01;
  assert.throws(() => readRecords(length), /length CRC mismatch/);

  assert.throws(() => readRecords(good.subarray(0, good.length - 1)), /truncated/);
});

test('two writers in one folder write separate files, each complete', () => {
  const dir = tempDir('tb-two');
  const a = new EventFileWriter(dir);
  const b = new EventFileWriter(dir);
  a.addScalar('train/loss', 1, 1);
  b.addScalar('train/loss', 2, 1);
  a.addScalar('train/loss', 3, 2);
  assert.notEqual(a.file, b.file);
  assert.equal(eventFiles(dir).length, 2);
  assert.deepEqual(scalars(a.file!), [['train/loss', 1, 1], ['train/loss', 3, 2]]);
  assert.deepEqual(scalars(b.file!), [['train/loss', 2, 1]]);
});

test('infinities and large steps survive the round trip', () => {
  const w = new EventFileWriter(tempDir('tb-inf'));
  w.addScalar('a', Infinity, 2 ** 40);
  w.addScalar('b', -Infinity, 0);
  assert.deepEqual(scalars(w.file!), [['a', Infinity, 2 ** 40], ['b', -Infinity, 0]]);
});

test('defaultLoggingDir is Hugging Face\'s runs/<%b%d_%H-%M-%S>_<hostname>', () => {
  const dir = defaultLoggingDir('/out', new Date(2024, 10, 30, 8, 15, 2), 'myhost');
  assert.equal(dir, path.join('/out', 'runs', 'Nov30_08-15-02_myhost'));
  assert.match(path.basename(defaultLoggingDir('o')), /^[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+$/);
});
