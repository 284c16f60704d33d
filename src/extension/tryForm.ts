// Which inputs the Try view offers for a model, from the files saved beside it. No `vscode` here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE, PREPROCESSOR_FILE, TOKENIZER_FILE } from '../trainer/runDirectory';
import type { TryForm } from '../tryViewProtocol';

/** Which inputs the model in `dir` takes, from the files saved beside it. */
export function tryFormOf(dir: string): TryForm {
  const read = (f: string) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const config = read(CONFIG_FILE);
  const task = (config?.trainer as { task?: string } | undefined)?.task;
  if (task === 'question-answering') return 'qa';
  if (fs.existsSync(path.join(dir, TOKENIZER_FILE))) return task === 'text-classification' || task === undefined ? 'pair' : 'text';
  if (fs.existsSync(path.join(dir, PREPROCESSOR_FILE))) return 'image';
  return 'record';
}

