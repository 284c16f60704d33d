// A run's log history read from its run directory: trainer_log.jsonl, which the trainer appends
// one line to per log_history entry (read incrementally, from where the last read stopped), or
// trainer_state.json's log_history for runs written without it (e.g. by Hugging Face in Python).
// No `vscode` here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { JSONL_LOG, STATE_FILE } from '../trainer/runDirectory';
import { parsePythonJson } from '../trainer/loop/state';

export type LogEntry = Record<string, number>;

/** One line of trainer_log.jsonl (Python's JSON: NaN and ±Infinity as literals, as in trainer_state.json). */
export function parseLogLine(line: string): LogEntry | undefined {
  const text = line.trim();
  if (!text) return undefined;
  try {
    return logEntryOf(parsePythonJson(text));
  } catch {
    return undefined;
  }
}

/** A log_history entry from parsed JSON: its numbers (NaN and ±Infinity included), when it has a step. */
export function logEntryOf(raw: unknown): LogEntry | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const entry: LogEntry = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (typeof v === 'number') entry[k] = v;
  return typeof entry.step === 'number' ? entry : undefined;
}

/**
 * Adds an entry to a history. A resumed run appends entries again from its checkpoint's step,
 * after those of the run it replaces: an entry whose step is below the last one drops the
 * history from its step on, so the history always reads as one run. Returns whether that
 * happened ("rewound") or the entry was simply appended.
 */
export function mergeEntry(entries: LogEntry[], entry: LogEntry): 'appended' | 'rewound' {
  const last = entries[entries.length - 1];
  if (!last || entry.step >= last.step) {
    entries.push(entry);
    return 'appended';
  }
  let keep = entries.length;
  while (keep > 0 && entries[keep - 1].step >= entry.step) keep--;
  entries.length = keep;
  entries.push(entry);
  return 'rewound';
}

export interface SyncResult {
  /** Entries added since the previous sync (when not rewound). */
  appended: LogEntry[];
  /** The history was replaced or rewound: redraw it whole. */
  reset: boolean;
}

/** Reads a run directory's log history, incrementally. */
export class LogHistory {
  readonly entries: LogEntry[] = [];
  private offset = 0;
  private source: 'none' | 'jsonl' | 'state' = 'none';
  private stateMtime = 0;

  constructor(readonly outputDir: string) {}

  /** Reads what changed on disk since the last call. */
  sync(): SyncResult {
    const jsonl = path.join(this.outputDir, JSONL_LOG);
    const size = fileSize(jsonl);
    if (size !== undefined) return this.syncJsonl(jsonl, size);
    const state = path.join(this.outputDir, STATE_FILE);
    const mtime = fileMtime(state);
    if (mtime !== undefined) return this.syncState(state, mtime);
    if (this.source === 'none') return { appended: [], reset: false };
    this.clear('none');
    return { appended: [], reset: true };
  }

  private clear(source: LogHistory['source']) {
    this.entries.length = 0;
    this.offset = 0;
    this.source = source;
    this.stateMtime = 0;
  }

  private syncJsonl(file: string, size: number): SyncResult {
    let reset = false;
    // A shorter file was deleted and rewritten (a new run in the same directory): read it again.
    if (this.source !== 'jsonl' || size < this.offset) {
      reset = this.source !== 'none' || this.entries.length > 0;
      this.clear('jsonl');
    }
    if (size === this.offset) return { appended: [], reset };
    const buf = readRange(file, this.offset, size);
    // Only whole lines are read: the trainer may be halfway through writing the last one.
    const end = buf.lastIndexOf(10);
    if (end < 0) return { appended: [], reset };
    this.offset += end + 1;
    const lines = buf.subarray(0, end).toString('utf8').split('\n');
    const appended: LogEntry[] = [];
    for (const line of lines) {
      const entry = parseLogLine(line);
      if (!entry) continue;
      if (mergeEntry(this.entries, entry) === 'rewound') reset = true;
      else appended.push(entry);
    }
    return { appended: reset ? [] : appended, reset };
  }

  private syncState(file: string, mtime: number): SyncResult {
    if (this.source === 'state' && mtime === this.stateMtime) return { appended: [], reset: false };
    let history: unknown;
    try {
      history = (parsePythonJson(fs.readFileSync(file, 'utf8')) as { log_history?: unknown }).log_history;
    } catch {
      // Half-written by another program: the next change reads it again.
      return { appended: [], reset: false };
    }
    this.clear('state');
    this.stateMtime = mtime;
    if (Array.isArray(history)) {
      for (const raw of history) {
        const entry = logEntryOf(raw);
        if (entry) mergeEntry(this.entries, entry);
      }
    }
    return { appended: [], reset: true };
  }
}

function fileSize(file: string): number | undefined {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function fileMtime(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function readRange(file: string, start: number, end: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    let read = 0;
    while (read < buf.length) {
      const n = fs.readSync(fd, buf, read, buf.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}
