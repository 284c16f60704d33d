// `npm run example:<name>`: writes an example's data (examples/<name>/prepare.mjs), then trains it
// with the real CLI, progress on the terminal. `npm run demo` runs the digits example.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const name = process.argv[2] ?? 'digits';
const { prepare } = await import(pathToFileURL(resolve('examples', name, 'prepare.mjs')).href);
prepare();
const r = spawnSync(process.execPath, ['bin/onnx-trainer.js', 'train', `examples/${name}/trainer.yaml`], { stdio: 'inherit' });
process.exit(r.status ?? 1);
