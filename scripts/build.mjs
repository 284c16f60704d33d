// Bundles the extension, the trainer CLI (which the extension also runs as a child process), the
// metrics panel's webview and the benchmark with esbuild. onnxruntime-node stays external: it is
// a native addon.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'vscode'],
  logLevel: 'warning',
};

const entries = [
  { in: 'src/extension.ts', out: 'dist/extension.js' },
  { in: 'src/cliMain.ts', out: 'dist/cli.js' },
  { in: 'src/trainerProcess.ts', out: 'dist/trainerProcess.js' },
  { in: 'src/trainer/index.ts', out: 'dist/trainer.js' },
  { in: 'src/bench/bench.ts', out: 'dist/bench.js' },
  { in: 'src/bench/loraMemory.ts', out: 'dist/benchLora.js' },
  { in: 'src/bench/largeModel.ts', out: 'dist/benchLarge.js' },
].filter((e) => existsSync(e.in));

await Promise.all([
  ...entries.map((e) => esbuild.build({ ...common, entryPoints: [e.in], outfile: e.out })),
  // The webview runs in the browser: one script (chart.js and VS Code Elements inside) and one
  // stylesheet, the only files its Content-Security-Policy lets it load.
  esbuild.build({
    entryPoints: { main: 'webview/main.ts', try: 'webview/try/main.ts' },
    outdir: 'dist/webview',
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  }),
  esbuild.build({ entryPoints: { main: 'webview/panel.css' }, outdir: 'dist/webview', bundle: true, minify: true, logLevel: 'warning' }),
]);

// The config file's JSON Schema, generated from the field tables, for editors (contributed to VS
// Code through jsonValidation).
mkdirSync('schemas', { recursive: true });
writeFileSync('schemas/trainer.schema.json', execFileSync(process.execPath, ['dist/cli.js', 'schema']));
