#!/usr/bin/env node
// The command-line entry named in package.json "bin". The engine is bundled into dist/ by
// `npm run build` (run automatically by `npm ci` through the "prepare" script).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`onnx-trainer: ${cli} is missing; run "npm run build" first.\n`);
  process.exit(1);
}
require(cli);
