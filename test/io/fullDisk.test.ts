// A full disk and a read-only file system, for real: the run's output_dir is a small tmpfs
// mounted for the test (the project's machines run tests as root; without the right to mount,
// this test fails and says so rather than skipping). A run that fills the disk fails with one
// line naming the file and the cause, leaves every checkpoint it wrote whole (the run resumes
// from the last one elsewhere), and no temporary file; a read-only output_dir is refused before
// anything is written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, runCli, tempDir, writeConfig } from '../helpers';

let work = '';
let mount = '';

function mountTmpfs(dir: string, kb: number): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`this test mounts a ${kb} KB tmpfs and needs root with the right to mount: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
  }
}

function config(dir: string, outputDir: string, extra: Record<string, unknown> = {}): string {
  return writeConfig(dir, {
    model: { path: path.join(FIXTURES, 'parity', 'mlp', 'model.onnx'), problem_type: 'single_label_classification', num_labels: 3 },
    data: { train: path.join(FIXTURES, 'parity', 'mlp', 'train.jsonl') },
    training: { output_dir: outputDir, max_steps: 40, per_device_train_batch_size: 8, logging_steps: 1, save_steps: 1, report_to: 'none', ...extra },
  });
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

before(() => {
  work = tempDir('full-disk');
  mount = path.join(work, 'disk');
  fs.mkdirSync(mount);
  // About seven checkpoints of the MLP fixture (52 KB each on tmpfs) fit.
  mountTmpfs(mount, 400);
});

after(() => {
  try {
    execFileSync('umount', [mount], { stdio: 'pipe' });
  } catch {
    // Not mounted (before failed).
  }
  fs.rmSync(work, { recursive: true, force: true });
});

test('a run that fills the disk fails with one line naming the file, and every checkpoint it left is whole', () => {
  const out = path.join(mount, 'out');
  const r = runCli(['train', config(work, out)]);
  // The log lines before it go to stderr too, as Hugging Face's do: the failure is the last line.
  const lines = r.stderr.trim().split('\n');
  const message = lines.at(-1)!;
  assert.equal(r.code, 1, `exit code 1 expected, got ${r.code}:\n${r.stderr}`);
  assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1, `one error line expected:\n${r.stderr}`);
  assert.match(message, /^error: .*cannot write .*no space left on the device/);
  assert.ok(message.includes(out), `the message names a file in the output_dir: ${message}`);
  assert.doesNotMatch(r.stderr, /ENOSPC|\bat .+:\d+:\d+/);

  const temporary = (fs.readdirSync(out, { recursive: true }) as string[]).filter((f) => f.split(path.sep).some((part) => part.startsWith('.tmp') || /\.tmp-\d+$/.test(part)));
  assert.deepEqual(temporary, [], 'no temporary file or folder left behind');
  const checkpoints = fs.readdirSync(out).filter((d) => /^checkpoint-\d+$/.test(d)).map((d) => Number(d.split('-')[1])).sort((a, b) => a - b);
  assert.ok(checkpoints.length >= 2 && checkpoints.at(-1)! < 40, `some checkpoints, not all 40: ${checkpoints}`);
  for (const step of checkpoints) {
    const state = JSON.parse(fs.readFileSync(path.join(out, `checkpoint-${step}`, 'trainer_state.json'), 'utf8'));
    assert.equal(state.global_step, step, `checkpoint-${step}'s trainer_state.json is whole`);
  }

  // The last checkpoint resumes on a disk with room, and the run ends where it should.
  const roomy = path.join(work, 'roomy');
  fs.cpSync(out, roomy, { recursive: true });
  const resumed = runCli(['train', config(work, roomy), '--resume', path.join(roomy, `checkpoint-${checkpoints.at(-1)}`)]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(fs.readFileSync(path.join(roomy, 'trainer_state.json'), 'utf8')).global_step, 40);
});

test('a read-only output_dir is refused with exit 2 before anything is written', () => {
  const out = path.join(mount, 'out');
  const before = files(out).map((f) => [f, fs.readFileSync(path.join(out, f)).toString('base64')]);
  execFileSync('mount', ['-o', 'remount,ro', mount], { stdio: 'pipe' });
  try {
    const r = runCli(['train', config(work, out, { overwrite_output_dir: true })]);
    const message = r.stderr.trim();
    assert.equal(r.code, 2, `exit code 2 expected, got ${r.code}:\n${r.stderr}`);
    assert.equal(message.split('\n').length, 1, `one line expected:\n${message}`);
    assert.match(message, /read-only/);
    assert.match(message, /output_dir/);
    assert.doesNotMatch(message, /EROFS/);
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', mount], { stdio: 'pipe' });
  }
  assert.deepEqual(files(out).map((f) => [f, fs.readFileSync(path.join(out, f)).toString('base64')]), before, 'nothing on disk changed');
});
