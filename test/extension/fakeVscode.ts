// A small stand-in for the `vscode` module, enough for the run-lifetime code (activeRun.ts) to
// run in plain Node: it records notifications and progress, and counts what is still open.
import Module from 'node:module';
import * as path from 'node:path';

export const recorded = {
  info: [] as string[],
  errors: [] as string[],
  warnings: [] as string[],
  progress: [] as string[],
  /** Progress notifications still showing. */
  openProgress: 0,
};

export const fake = {
  ProgressLocation: { Notification: 15 },
  workspace: {
    /** No workspace folder: every path is outside it, as VS Code's answers then. */
    asRelativePath: (p: string) => p,
  },
  /** A class, so that `x instanceof vscode.Uri` is false for what tests pass. */
  Uri: class {},
  window: {
    showInformationMessage: async (text: string) => {
      recorded.info.push(text);
      return undefined;
    },
    showErrorMessage: async (text: string) => {
      recorded.errors.push(text);
      return undefined;
    },
    showWarningMessage: async (text: string) => {
      recorded.warnings.push(text);
      return undefined;
    },
    withProgress: async <T>(opts: { title: string }, task: (p: { report(v: { message?: string }): void }, token: unknown) => Promise<T>) => {
      recorded.openProgress++;
      const token = { onCancellationRequested: () => ({ dispose() {} }) };
      try {
        return await task({ report: (v) => recorded.progress.push(`${opts.title}: ${v.message}`) }, token);
      } finally {
        recorded.openProgress--;
      }
    },
  },
};

/** An Output channel that keeps its text. */
export function outputChannel() {
  let text = '';
  return {
    append: (s: string) => (text += s),
    appendLine: (s: string) => (text += s + '\n'),
    show: () => {},
    get text() {
      return text;
    },
  };
}

/** Makes require('vscode') return the fake; call before importing extension modules. */
export function installFakeVscode(): void {
  const resolve = (Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string })._resolveFilename;
  const self = path.join(__dirname, 'fakeVscode.ts');
  (Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string })._resolveFilename = function (request: string, ...rest: unknown[]) {
    if (request === 'vscode') return self;
    return resolve.call(this, request, ...rest);
  };
}

// `import * as vscode from 'vscode'` in the code under test reads these.
export const window = fake.window;
export const ProgressLocation = fake.ProgressLocation;
export const workspace = fake.workspace;
export const Uri = fake.Uri;
