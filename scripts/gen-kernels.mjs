// Assembles the WebAssembly kernels in src/trainer/kernels/*.wat with wabt into <name>Wasm.ts
// (the module's bytes, base64). The generated files are committed so that installs, tests and the
// bundles need no assembler; test/kernels/generated.test.ts fails when one is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { assembleKernel, kernelModuleSource } from './kernels.mjs';

const dir = 'src/trainer/kernels';
for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const bytes = await assembleKernel(`${dir}/${file}`, readFileSync(`${dir}/${file}`, 'utf8'));
  const out = `${dir}/${file.replace(/\.wat$/, 'Wasm.ts')}`;
  writeFileSync(out, kernelModuleSource(file, bytes));
  console.log('wrote', out, bytes.length, 'bytes of WebAssembly');
}
