// Packages the extension as a platform-specific VSIX (onnxruntime-node is a native addon), for
// the platform it runs on unless --target says otherwise (linux-x64, linux-arm64, darwin-arm64,
// win32-x64, win32-arm64). esbuild bundles everything except onnxruntime-node, so the package
// holds the bundles, the webview, the schema, the media, and onnxruntime-node with only the
// target's binaries — placed in dist/node_modules, where the bundles' require() finds it.
// Usage: node scripts/package-vsix.mjs [--target T] [--out FILE]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({ options: { target: { type: 'string' }, out: { type: 'string' }, 'skip-build': { type: 'boolean' } } });
const target = values.target ?? `${process.platform}-${process.arch}`;
const [platform, arch] = target.split('-');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = resolve(values.out ?? join(root, `${pkg.name}-${pkg.version}-${target}.vsix`));

if (!values['skip-build']) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });

const stage = join(root, '.cache', 'vsix', target);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const copy = (from, to = from) => cpSync(join(root, from), join(stage, to), { recursive: true });

// The manifest without what only building needs: no dependencies for vsce to collect.
const manifest = { ...pkg };
for (const k of ['scripts', 'devDependencies', 'dependencies', 'allowScripts', 'bin']) delete manifest[k];
writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
// Relative links have no repository to point into from the marketplace page: keep them as text.
const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(/\[([^\]]+)\]\((?!https?:|#)([^)]+)\)/g, '$1 (`$2`)');
writeFileSync(join(stage, 'README.md'), readme);
for (const f of ['extension.js', 'trainerProcess.js', 'cli.js']) copy(`dist/${f}`);
copy('dist/webview/main.js');
copy('dist/webview/main.css');
copy('dist/webview/try.js');
copy('schemas/trainer.schema.json');
copy('media');

const ort = 'node_modules/onnxruntime-node';
const binaries = `${ort}/bin/napi-v6/${platform}/${arch}`;
if (!existsSync(join(root, binaries))) throw new Error(`onnxruntime-node has no binaries for ${target} (${binaries})`);
copy(`${ort}/package.json`, `dist/${ort}/package.json`);
copy(`${ort}/dist`, `dist/${ort}/dist`);
copy(binaries, `dist/${binaries}`);
copy('node_modules/onnxruntime-common/package.json', 'dist/node_modules/onnxruntime-common/package.json');
copy('node_modules/onnxruntime-common/dist/cjs', 'dist/node_modules/onnxruntime-common/dist/cjs');
writeFileSync(join(stage, '.vscodeignore'), '**/*.map\n**/*.d.ts\n');

const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--target', target, '--out', out], {
  cwd: stage,
  stdio: 'inherit',
});
console.log(`packaged ${out}`);
