// Regenerates the ONNX protobuf bindings from the schema in src/trainer/onnx/generated/onnx.proto
// (copied verbatim from github.com/onnx/onnx, Apache-2.0). The generated files are committed so
// that installs and CI need neither protobufjs-cli nor its jsdoc dependency.
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';

const dir = 'src/trainer/onnx/generated';
const pbjs = 'node_modules/protobufjs-cli/bin/pbjs';
const pbts = 'node_modules/protobufjs-cli/bin/pbts';
// --force-number keeps int64 dims and attribute ints as plain numbers (ONNX never needs > 2^53).
const js = execFileSync('node', [pbjs, '-t', 'static-module', '-w', 'commonjs', '--force-number',
  '--no-verify', '--no-delimited', '--no-service', '--no-beautify',
  `${dir}/onnx.proto`], { maxBuffer: 64 << 20 }).toString();
writeFileSync(`${dir}/onnx.js`, '/* eslint-disable */\n' + js);
const dts = execFileSync('node', [pbts, `${dir}/onnx.js`], { maxBuffer: 64 << 20 }).toString();
writeFileSync(`${dir}/onnx.d.ts`, dts);
console.log('wrote', `${dir}/onnx.js`, readFileSync(`${dir}/onnx.js`).length, 'bytes');
