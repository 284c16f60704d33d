// TrainerState and TrainerControl, with Hugging Face's field names, and trainer_state.json
// written the way Python writes it: keys sorted at every level, NaN and Infinity as literals.

export type LogEntry = Record<string, number>;

export class TrainerState {
  epoch = 0;
  global_step = 0;
  max_steps = 0;
  num_train_epochs = 0;
  logging_steps = 500;
  eval_steps = 500;
  save_steps = 500;
  train_batch_size = 8;
  log_history: LogEntry[] = [];
  best_metric: number | null = null;
  best_global_step: number | null = null;
  best_model_checkpoint: string | null = null;
  total_flos = 0;
  num_input_tokens_seen = 0;
  is_hyper_param_search = false;
  is_local_process_zero = true;
  is_world_process_zero = true;
  trial_name: string | null = null;
  trial_params: Record<string, unknown> | null = null;
  stateful_callbacks: Record<string, unknown> = {};

  static fromJSON(obj: Record<string, unknown>): TrainerState {
    return Object.assign(new TrainerState(), obj);
  }
}

/**
 * What is wrong with a parsed trainer_state.json ("key: expected …"), or undefined when the
 * fields resuming relies on have the right types.
 */
export function trainerStateProblem(obj: unknown): string | undefined {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return `expected a JSON object, got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : typeof obj}`;
  const o = obj as Record<string, unknown>;
  const got = (k: string) => JSON.stringify(o[k]) ?? 'nothing';
  const count = (k: string) => Number.isInteger(o[k]) && (o[k] as number) >= 0;
  if (!count('global_step')) return `global_step: expected an integer ≥ 0, got ${got('global_step')}`;
  if (o.epoch !== undefined && typeof o.epoch !== 'number') return `epoch: expected a number, got ${got('epoch')}`;
  if (!Array.isArray(o.log_history)) return `log_history: expected a list of log entries, got ${got('log_history')}`;
  const entry = o.log_history.findIndex((e) => e === null || typeof e !== 'object' || Array.isArray(e));
  if (entry >= 0) return `log_history[${entry}]: expected an object, got ${JSON.stringify(o.log_history[entry])}`;
  for (const k of ['best_metric', 'best_global_step']) if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'number') return `${k}: expected a number or null, got ${got(k)}`;
  if (o.best_model_checkpoint !== undefined && o.best_model_checkpoint !== null && typeof o.best_model_checkpoint !== 'string') return `best_model_checkpoint: expected a path or null, got ${got('best_model_checkpoint')}`;
  for (const k of ['total_flos', 'max_steps']) if (o[k] !== undefined && typeof o[k] !== 'number') return `${k}: expected a number, got ${got(k)}`;
  return undefined;
}

export class TrainerControl {
  should_training_stop = false;
  should_epoch_stop = false;
  should_save = false;
  should_evaluate = false;
  should_log = false;
}

/**
 * Python's json.dumps(obj, indent=2, sort_keys=True): sorted keys, NaN/Infinity literals; with
 * indent 0, json.dumps(obj) on one line (the JSONL log keeps Hugging Face's key order: sortKeys
 * false). One encoding for every
 * file the run writes, read back by parsePythonJson.
 */
export function pythonJson(value: unknown, indent = 2, sortKeys = true): string {
  const pad = (depth: number) => ' '.repeat(indent * depth);
  const write = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return 'NaN';
      if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
      return String(v);
    }
    if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      if (indent === 0) return `[${v.map((x) => write(x, depth + 1)).join(', ')}]`;
      return `[\n${v.map((x) => pad(depth + 1) + write(x, depth + 1)).join(',\n')}\n${pad(depth)}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return '{}';
    if (indent === 0) return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${write(x, depth + 1)}`).join(', ')}}`;
    return `{\n${entries.map(([k, x]) => `${pad(depth + 1)}${JSON.stringify(k)}: ${write(x, depth + 1)}`).join(',\n')}\n${pad(depth)}}`;
  };
  return write(value, 0) + '\n';
}

/** Parses JSON that may hold Python's NaN / Infinity / -Infinity literals outside strings. */
export function parsePythonJson(text: string): unknown {
  const tokens = { NaN: '"__nan__"', Infinity: '"__inf__"', '-Infinity': '"__-inf__"' } as const;
  const fixed = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => (m.startsWith('"') ? m : tokens[m as keyof typeof tokens]));
  return JSON.parse(fixed, (_k, v) => (v === '__nan__' ? NaN : v === '__inf__' ? Infinity : v === '__-inf__' ? -Infinity : v));
}
