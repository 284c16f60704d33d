// The JSONL log beside trainer_state.json: one line per log_history entry, appended as it
// happens, so a run that dies still leaves its history readable (the extension tails it).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainerCallback } from '../loop/callbacks';

export const JSONL_LOG = 'trainer_log.jsonl';

export function jsonlLogCallback(outputDir: string): TrainerCallback {
  const file = path.join(outputDir, JSONL_LOG);
  return {
    name: 'JsonlLogCallback',
    on_log: (_args, state) => {
      const entry = state.log_history[state.log_history.length - 1];
      if (!entry) return;
      fs.mkdirSync(outputDir, { recursive: true });
      // JSON has no NaN or Infinity: they are written as strings here.
      const line = JSON.stringify(entry, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
      fs.appendFileSync(file, line + '\n');
    },
  };
}
