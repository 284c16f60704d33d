// Gradient checks generated from the op table, plus the table's completeness against the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientRules } from '../../src/trainer/autodiff/registry';
import '../../src/trainer/autodiff/rules';
import { opTable } from './opTable';
import { gradcheck } from './gradcheck';

test('every gradient rule has an op-table entry, and every entry has a rule', () => {
  const tabled = new Set(opTable.map((c) => c.op));
  const ruled = new Set(gradientRules.keys());
  assert.deepEqual([...ruled].filter((op) => !tabled.has(op)), [], 'rules without op-table entries');
  assert.deepEqual([...tabled].filter((op) => !ruled.has(op)), [], 'op-table entries without rules');
});

for (const c of opTable) {
  test(`gradient of ${c.op}: ${c.label} (${c.precision ?? 'float64'})`, async () => {
    const r = await gradcheck(c);
    assert.ok(r.maxError <= r.tolerance, `error ${r.maxError.toExponential(2)} > ${r.tolerance}: ${r.details}`);
  });
}
