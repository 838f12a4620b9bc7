// The npm package (wasm-pack --target web, packed with `npm pack`) works in a plain page:
// examples/npm-embed installs pkg/cskd-VERSION.tgz, trains a few steps and lists the losses.
// Run: node --test npm-embed.test.mjs   (env: CSKD_TGZ, NPM_EMBED_STEPS, NPM_EMBED_TIMEOUT_MS)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';
import { syntheticCifar10 } from './lib/cifar.mjs';
import { installPackage } from './lib/package.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const EXAMPLE = path.join(repo, 'examples', 'npm-embed');
const STEPS = Number(process.env.NPM_EMBED_STEPS ?? 10);
const TIMEOUT_MS = Number(process.env.NPM_EMBED_TIMEOUT_MS ?? 10 * 60 * 1000);

let server;
let dataDir;
before(async () => {
  // Install the packed package exactly as a user would (a local tarball needs no network).
  installPackage(EXAMPLE);
  for (const f of ['cskd.js', 'cskd_bg.wasm', 'package.json']) {
    assert.ok(fs.existsSync(path.join(EXAMPLE, 'node_modules', 'cskd', f)), `the package contains ${f}`);
  }
  // A tiny learnable CIFAR-10 archive in the official layout, served at /data/.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cskd-npm-embed-'));
  fs.writeFileSync(path.join(dataDir, 'tiny-cifar10.tar.gz'), syntheticCifar10({ perClass: 4, testPerClass: 2, seed: 7 }));
  server = await serve({ root: EXAMPLE, mounts: { '/data/': dataDir } });
});
after(async () => {
  await server?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the packed npm package trains in a plain page and the loss goes down', { timeout: TIMEOUT_MS + 60_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}?steps=${STEPS}&method=ce`);
    await waitInPage(page, () => document.body.dataset.done, null, { timeout: TIMEOUT_MS, errors, what: 'the training steps' });
    const done = await page.evaluate(() => document.body.dataset.done);
    assert.equal(done, 'true', `page finished: ${await page.textContent('#status')}`);
    const losses = await page.$$eval('#losses li', (lis) => lis.map((li) => Number(li.dataset.loss)));
    console.log(`losses: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    console.log(await page.textContent('#adapter'));
    assert.equal(losses.length, STEPS);
    assert.ok(losses.every(Number.isFinite), 'all losses finite');
    assert.ok(losses.at(-1) < losses[0], `loss went down: ${losses[0]} → ${losses.at(-1)}`);
    const result = JSON.parse(await page.textContent('#result'));
    assert.ok(Number.isFinite(result.top1Error) && Number.isFinite(result.ece));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
