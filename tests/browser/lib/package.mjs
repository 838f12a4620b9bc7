// The packed npm package (scripts/build-npm.sh → pkg/cskd-VERSION.tgz) and installing it into an
// example exactly as a user would: `npm install` of the local tarball, offline.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** $CSKD_TGZ, else pkg/cskd-<version of pkg/package.json>.tgz. Throws when it is missing. */
export function packedTarball() {
  let tgz = process.env.CSKD_TGZ;
  if (!tgz) {
    const manifest = path.join(REPO, 'pkg', 'package.json');
    if (!fs.existsSync(manifest)) throw new Error(`${manifest} is missing: run scripts/build-npm.sh`);
    const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    tgz = path.join(REPO, 'pkg', `${name}-${version}.tgz`);
  }
  tgz = path.resolve(tgz);
  if (!fs.existsSync(tgz)) throw new Error(`${tgz} is missing: run scripts/build-npm.sh`);
  return tgz;
}

/** Installs the tarball into dir/node_modules/cskd (fresh), without touching dir's package.json. */
export function installPackage(dir, tgz = packedTarball()) {
  fs.rmSync(path.join(dir, 'node_modules', 'cskd'), { recursive: true, force: true });
  execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--omit=dev', '--no-audit', '--no-fund', '--offline', tgz],
    { cwd: dir, stdio: 'inherit' });
  return path.join(dir, 'node_modules', 'cskd');
}

/** A tool from tests/browser/node_modules/.bin (vite, tsc), run in `cwd`; returns its output. */
export function runBin(name, args, cwd) {
  const bin = path.join(REPO, 'tests', 'browser', 'node_modules', '.bin', name);
  try {
    return execFileSync(bin, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${name} ${args.join(' ')} failed (exit ${e.status}):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * A copy of examples/<name> in a temporary folder with the packed package installed, so tests never
 * write into the source tree. Its package.json is reduced to `{"type": "module"}`: npm resolves every
 * dependency a package.json lists, even with --omit=dev, and --offline could not (vite and tsc come
 * from tests/browser instead). Returns the folder; remove it when done.
 */
export function stageExample(name, tgz = packedTarball()) {
  const src = path.join(REPO, 'examples', name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cskd-${name}-`));
  fs.cpSync(src, dir, { recursive: true, filter: (f) => !/[/\\](node_modules|dist)$/.test(f) });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }) + '\n');
  installPackage(dir, tgz);
  return dir;
}
