// Runs every test/**/*.test.ts with Node's own test runner (node:test) and tsx for TypeScript.
// Node 20's --test takes no globs, so the files are collected here. Arguments filter by path.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'fixtures' || name === '.tmp' || name === 'e2e') continue;
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
// Every temporary folder the tests and the CLIs they start make (os.tmpdir() reads TMPDIR) lies
// under one root that goes when the run ends, pass or fail: a full run writes gigabytes of
// checkpoints, and left behind run after run they filled a CI machine's disk.
const tmpRoot = mkdtempSync(join(tmpdir(), 'trainer-tests-'));
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, TRAINER_TEST: '1', TMPDIR: tmpRoot },
});
rmSync(tmpRoot, { recursive: true, force: true });
process.exit(res.status ?? 1);
