// The JSONL log beside trainer_state.json: one line per log_history entry, appended as it
// happens, so a run that dies still leaves its history readable (the extension tails it).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainerCallback } from '../loop/callbacks';
import { appendToLog, writeFileDurably } from '../io/durable';

import { JSONL_LOG } from '../runDirectory';
import { pythonJson } from '../loop/state';

export { JSONL_LOG };

/** One line, written as Python's json.dumps writes it (NaN and Infinity as literals, as trainer_state.json holds them). */
function line(entry: Record<string, number>): string {
  return pythonJson(entry, 0, false);
}

export function jsonlLogCallback(outputDir: string): TrainerCallback {
  const file = path.join(outputDir, JSONL_LOG);
  return {
    name: 'JsonlLogCallback',
    // A resumed run's log is its checkpoint's history: entries the interrupted run wrote after
    // that checkpoint are about to be replayed, so they go. A fresh run starts an empty log, so
    // that the entries of an earlier run killed before its first checkpoint are not kept.
    on_train_begin: (_args, state) => {
      fs.mkdirSync(outputDir, { recursive: true });
      writeFileDurably(file, state.log_history.map(line).join(''));
    },
    on_log: (_args, state) => {
      const entry = state.log_history[state.log_history.length - 1];
      if (!entry) return;
      fs.mkdirSync(outputDir, { recursive: true });
      appendToLog(file, line(entry));
    },
  };
}
