// The packed npm package as a publisher and a TypeScript user see it (no browser needed):
// package.json is complete, every entry point is in the tarball and resolves through `exports`,
// the README is the npm one, and `tsc --noEmit` accepts examples/typecheck, which must use every
// export of `cskd` and `cskd/worker` and every public class member.
// Run: node --test npm-package.test.mjs   (env: CSKD_TGZ)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, packedTarball, runBin, stageExample } from './lib/package.mjs';
import { unusedExports } from './lib/ts-coverage.mjs';

let TYPECHECK; // a copy of examples/typecheck with the package installed
let tgz, entries, manifest;

before(() => {
  tgz = packedTarball();
  entries = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean).map((e) => e.replace(/^package\//, ''));
  manifest = JSON.parse(execFileSync('tar', ['xzf', tgz, '-O', 'package/package.json'], { encoding: 'utf8' }));
  TYPECHECK = stageExample('typecheck', tgz);
});
after(() => { if (TYPECHECK) fs.rmSync(TYPECHECK, { recursive: true, force: true }); });

test('package.json is complete for publishing', () => {
  assert.equal(manifest.name, 'cskd');
  assert.match(manifest.version, /^\d+\.\d+\.\d+/);
  assert.equal(manifest.license, 'MIT');
  assert.ok(manifest.description.length > 20, 'a description');
  assert.ok(manifest.keywords.includes('webgpu') && manifest.keywords.length >= 5, 'keywords');
  assert.equal(manifest.type, 'module');
  assert.equal(manifest.types, './cskd.d.ts');
  assert.deepEqual(Object.keys(manifest.exports).sort(), ['.', './cskd_bg.wasm', './package.json', './trainer-worker.js', './worker']);
  assert.deepEqual(manifest.exports['.'], { types: './cskd.d.ts', default: './cskd.js' });
  assert.deepEqual(manifest.exports['./worker'], { types: './worker.d.ts', default: './worker.js' });
  assert.ok(manifest.sideEffects.includes('./trainer-worker.js'), 'the worker entry keeps its side effects');
  // The version follows Cargo.toml, so the crate and the package never disagree.
  const cargoVersion = fs.readFileSync(path.join(REPO, 'Cargo.toml'), 'utf8').match(/^version\s*=\s*"([^"]+)"/m)[1];
  assert.equal(manifest.version, cargoVersion);
});

test('the tarball holds exactly the listed files, and every entry point', () => {
  const expected = ['package.json', ...manifest.files].sort();
  assert.deepEqual([...entries].sort(), expected);
  const targets = [manifest.main, manifest.types, ...Object.values(manifest.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)))];
  for (const t of targets) assert.ok(entries.includes(t.replace(/^\.\//, '')), `${t} is in the tarball`);
});

test('the worker helper\'s rpc.js is the demo page\'s www/shared/rpc.js, with no second copy in npm/', () => {
  const packed = execFileSync('tar', ['xzf', tgz, '-O', 'package/rpc.js'], { encoding: 'utf8' });
  assert.equal(packed, fs.readFileSync(path.join(REPO, 'www', 'shared', 'rpc.js'), 'utf8'));
  assert.equal(fs.existsSync(path.join(REPO, 'npm', 'rpc.js')), false);
});

test('the npm README is the package one and documents the worker helper and errors', () => {
  const readme = execFileSync('tar', ['xzf', tgz, '-O', 'package/README.md'], { encoding: 'utf8' });
  assert.equal(readme, fs.readFileSync(path.join(REPO, 'npm', 'README.md'), 'utf8'));
  for (const needle of ['npm install cskd', "from 'cskd/worker'", 'createWorkerTrainer', 'saveCheckpoint', 'loadCheckpoint', 'safetensors', '## Errors']) {
    assert.ok(readme.includes(needle), `README mentions ${needle}`);
  }
});

test('Node resolves the exports map of the installed package', () => {
  const out = execFileSync('node', ['--input-type=module', '-e', `
    const r = (s) => import.meta.resolve(s).replace(/^.*node_modules\\//, '');
    const worker = await import('cskd/worker');
    console.log(JSON.stringify([r('cskd'), r('cskd/worker'), r('cskd/cskd_bg.wasm'), r('cskd/trainer-worker.js'), Object.keys(worker).sort()]));
  `], { cwd: TYPECHECK, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['cskd/cskd.js', 'cskd/worker.js', 'cskd/cskd_bg.wasm', 'cskd/trainer-worker.js', ['WorkerTrainer', 'createWorkerTrainer']]);
});

test('tsc --noEmit accepts a file that uses every exported type and function', () => {
  runBin('tsc', ['--noEmit', '-p', '.'], TYPECHECK);
  assert.deepEqual(unusedExports(TYPECHECK, ['cskd', 'cskd/worker']), [], 'examples/typecheck/use-every-type.ts uses every export');
});
