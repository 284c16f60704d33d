// Errors the user can fix (a config key, a data line, a model file) carry exit code 2 and one
// message naming the file and the key or line; everything else is a failure while running (1).

export class UserError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** "file:line: key: message", leaving out the parts that are unknown. */
export function locate(file: string | undefined, line: number | undefined, key: string | undefined, message: string): string {
  const where = file ? `${file}${line ? `:${line}` : ''}: ` : '';
  return `${where}${key ? `${key}: ` : ''}${message}`;
}

export class ConfigError extends UserError {
  constructor(readonly file: string, readonly key: string | undefined, readonly line: number | undefined, detail: string) {
    super(locate(file, line, key, detail));
  }
}

export class DataError extends UserError {
  constructor(readonly file: string, readonly line: number | undefined, detail: string) {
    super(locate(file, line, undefined, detail));
  }
}

/** Where a failure is, when the error knows: what a program (the extension) can open. */
export interface FailureLocation {
  file?: string;
  key?: string;
  line?: number;
}

/** The file, config key and line an error names (each only when known). */
export function locationOf(e: unknown): FailureLocation {
  const f = e as { file?: unknown; key?: unknown; line?: unknown };
  if (!(e instanceof Error)) return {};
  const out: FailureLocation = {};
  if (typeof f.file === 'string') out.file = f.file;
  if (typeof f.key === 'string') out.key = f.key;
  if (typeof f.line === 'number' && f.line > 0) out.line = f.line;
  return out;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate to `name`, if it is close enough to be a likely typo. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
