// Failures while running (exit code 1) are reported in one line: the file or step that failed
// and why in words. Errors that are not ours (onnxruntime's multi-line dumps with colour codes,
// raw file-system errors) are cut to their first line, and the full text goes to a log file the
// line names, so nothing is lost.

import * as os from 'node:os';
import * as path from 'node:path';
import { WriteError, describeFsError, isFsError, writeFileDurably } from './io/durable';
import { NonFiniteError } from './loop/nonFinite';

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

// Control characters and undecodable bytes: a binary file quoted back in a parser's message.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f\ufffd]/g;

/** The message with colour codes removed and binary bytes shown as "?". */
export function printable(message: string): string {
  return message.replace(ANSI_ESCAPE, '').replace(UNPRINTABLE, '?');
}

/** Saves the full error text; returns the log file's path, or undefined if it cannot be written. */
function saveDetails(err: Error): string | undefined {
  const file = path.join(os.tmpdir(), `onnx-trainer-error-${process.pid}.log`);
  try {
    writeFileDurably(file, `${new Date().toISOString()} ${process.argv.slice(2).join(' ')}\n${err.stack ?? err.message}\n`);
    return file;
  } catch {
    return undefined;
  }
}

/** The one line that reports a failure while running. */
export function failureLine(err: Error): string {
  if (err instanceof WriteError || err instanceof NonFiniteError) return printable(err.message);
  if (isFsError(err)) {
    const where = err.path ? `${err.path}: ` : '';
    return `${where}${err.syscall === 'open' || err.syscall === 'read' ? 'cannot read' : `${err.syscall} failed`}: ${describeFsError(err)}`;
  }
  const lines = printable(err.message ?? String(err)).split('\n').map((l) => l.trim()).filter(Boolean);
  const first = (lines[0] ?? 'unknown error').slice(0, 300);
  if (lines.length <= 1 && first.length < 300) return first;
  const log = saveDetails(err);
  return log ? `${first} (details in ${log})` : first;
}
