// glibc's malloc settings for training processes (src/allocator.ts) and the in-process fallback
// (keepFreedMemory): a buffer freed and made again reuses its memory instead of faulting in fresh
// pages. Measured in fresh processes by their page-fault counters, with glibc's defaults beside
// them as the case that shows the difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { MALLOC_SETTINGS, allocatorEnv, startedWithAllocatorSettings } from '../../src/allocator';
import { ROOT } from '../helpers';

const linux = process.platform === 'linux';

/** Env without any malloc setting (the test process may have been started with them). */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const s of MALLOC_SETTINGS) delete env[s.name];
  return env;
}

/**
 * In a fresh Node.js process: makes an ArrayBuffer of `mb` MiB, writes it, frees it at once, and
 * makes and writes another; prints the second one's page faults per page. `prelude` runs first.
 */
function refillFaults(mb: number, env: NodeJS.ProcessEnv, prelude = ''): number {
  const script = `
    ${prelude}
    const transfer = ArrayBuffer.prototype.transfer ?? (require('node:v8').setFlagsFromString('--harmony-rab-gsab-transfer'), require('node:vm').runInNewContext('ArrayBuffer.prototype.transfer'));
    const bytes = ${mb} * 1024 * 1024;
    const make = () => { const b = new ArrayBuffer(bytes); new Uint8Array(b).fill(1); return b; };
    transfer.call(make(), 0);
    const before = process.resourceUsage().minorPageFault;
    make();
    console.log((process.resourceUsage().minorPageFault - before) / (bytes / 4096));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('the settings are added where the environment lacks them, and only on Linux', () => {
  const all = allocatorEnv({}, 'linux');
  assert.deepEqual(Object.keys(all), MALLOC_SETTINGS.map((s) => s.name));
  for (const s of MALLOC_SETTINGS) assert.equal(all[s.name], String(s.value));
  // A value the user chose wins: it is not in the additions.
  const mine = allocatorEnv({ MALLOC_TRIM_THRESHOLD_: '0' }, 'linux');
  assert.equal(mine.MALLOC_TRIM_THRESHOLD_, undefined);
  assert.equal(mine.MALLOC_MMAP_THRESHOLD_, String(MALLOC_SETTINGS.find((s) => s.name === 'MALLOC_MMAP_THRESHOLD_')!.value));
  assert.deepEqual(allocatorEnv({}, 'darwin'), {});
  assert.deepEqual(allocatorEnv({}, 'win32'), {});
  assert.equal(startedWithAllocatorSettings({}), false);
  assert.equal(startedWithAllocatorSettings({ MALLOC_MMAP_THRESHOLD_: '1' }), true);
});

test('with the settings a freed 100 MiB buffer is reused; with glibc\'s defaults it is fresh pages', { skip: !linux && 'glibc only' }, () => {
  const defaults = refillFaults(100, plainEnv());
  const tuned = refillFaults(100, { ...plainEnv(), ...allocatorEnv({}) });
  assert.ok(defaults > 0.9, `defaults: ${defaults} faults per page`);
  assert.ok(tuned < 0.05, `settings: ${tuned} faults per page`);
});

test('keepFreedMemory makes glibc reuse freed blocks under 31 MiB in a process started without the settings', { skip: !linux && 'glibc only' }, () => {
  const session = JSON.stringify(path.join(ROOT, 'src', 'trainer', 'programs', 'session.ts'));
  const without = refillFaults(20, plainEnv());
  const kept = refillFaults(20, plainEnv(), `require(${session}).keepFreedMemory();`);
  assert.ok(without > 0.9, `without: ${without} faults per page`);
  assert.ok(kept < 0.05, `keepFreedMemory: ${kept} faults per page`);
  // Larger blocks are still unmapped when freed: the most glibc's dynamic threshold allows.
  assert.ok(refillFaults(40, plainEnv(), `require(${session}).keepFreedMemory();`) > 0.9);
});
