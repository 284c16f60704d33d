// The committed WebAssembly kernels are what their .wat sources assemble to (npm run gen:kernels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

const DIR = 'src/trainer/kernels';

const sources = readdirSync(DIR).filter((f) => f.endsWith('.wat'));

test('there are kernel sources', () => assert.ok(sources.length > 0));

for (const wat of sources) {
  test(`${wat}: the generated module is current`, async () => {
    // A dynamic import: the script is an ES module and the tests are compiled as CommonJS.
    const { assembleKernel, kernelModuleSource } = await import('../../scripts/kernels.mjs');
    const bytes = await assembleKernel(wat, readFileSync(`${DIR}/${wat}`, 'utf8'));
    assert.equal(readFileSync(`${DIR}/${wat.replace(/\.wat$/, 'Wasm.ts')}`, 'utf8'), kernelModuleSource(wat, bytes), 'run npm run gen:kernels');
  });
}
