// Turns wasm-pack's pkg/ into the publishable npm package: adds the Web Worker helper (with its
// request/reply module rpc.js from www/shared/), the npm README and the licence, and rewrites
// package.json with exports, types, keywords and files.
// Deterministic: the same pkg/ in gives the same package out.
//   node npm/finish-package.mjs [PKG_DIR]     (default: pkg/ at the repository root)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'pkg'));
const fail = (msg) => { console.error(`finish-package: ${msg}`); process.exit(1); };

const manifestPath = path.join(pkgDir, 'package.json');
if (!fs.existsSync(manifestPath)) fail(`${manifestPath} is missing: run wasm-pack build --target web first`);
const generated = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
if (generated.name !== 'cskd') fail(`expected wasm-pack's package "cskd", found "${generated.name}"`);

// Our files, copied next to cskd.js (trainer-worker.js imports ./cskd.js). rpc.js, the request/reply
// helper that worker.js and trainer-worker.js import, is the demo page's www/shared/rpc.js: one file
// for both, never a second copy in npm/.
const FROM = {
  'worker.js': path.join(here, 'worker.js'),
  'worker.d.ts': path.join(here, 'worker.d.ts'),
  'trainer-worker.js': path.join(here, 'trainer-worker.js'),
  'rpc.js': path.join(here, '..', 'www', 'shared', 'rpc.js'),
  'README.md': path.join(here, 'README.md'),
  'LICENSE': path.join(here, 'LICENSE'),
};
const OURS = Object.keys(FROM);
for (const f of OURS) fs.copyFileSync(FROM[f], path.join(pkgDir, f));

const files = [...new Set([...(generated.files ?? []), 'cskd_bg.wasm.d.ts', ...OURS])].sort();
for (const f of files) if (!fs.existsSync(path.join(pkgDir, f))) fail(`${f} is listed in "files" but missing from ${pkgDir}`);

const manifest = {
  name: generated.name,
  version: generated.version,
  description: 'Train small CNNs on CIFAR with class-wise self-knowledge distillation (CS-KD) on WebGPU, in the browser: WebAssembly, TypeScript types and a Web Worker helper.',
  keywords: ['webgpu', 'wasm', 'webassembly', 'deep-learning', 'training', 'cnn', 'cifar', 'knowledge-distillation', 'self-distillation', 'cs-kd', 'web-worker', 'safetensors'],
  license: generated.license ?? 'MIT',
  // wasm-pack copies `repository` from Cargo.toml when it is set there.
  ...(generated.repository ? { repository: generated.repository } : {}),
  type: 'module',
  main: './cskd.js',
  module: './cskd.js',
  types: './cskd.d.ts',
  exports: {
    '.': { types: './cskd.d.ts', default: './cskd.js' },
    './worker': { types: './worker.d.ts', default: './worker.js' },
    './trainer-worker.js': './trainer-worker.js',
    './cskd_bg.wasm': './cskd_bg.wasm',
    './package.json': './package.json',
  },
  files,
  // trainer-worker.js is a worker entry point: it installs its message handler when loaded.
  sideEffects: ['./trainer-worker.js', './snippets/*'],
};
if (!manifest.repository) console.warn('finish-package: warning: no "repository" (set `repository` in Cargo.toml before publishing)');

fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
console.log(`finish-package: ${manifestPath} (${manifest.name}@${manifest.version}, ${files.length} files)`);
