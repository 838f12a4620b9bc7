// The npm package in a bundled app: a copy of examples/vite-app installs the packed tarball, `vite build`
// bundles it (main chunk, the worker helper's worker chunk, the .wasm asset), and the built app
// trains a few steps in a Web Worker in headless Chromium.
// Run: node --test vite-app.test.mjs   (env: CSKD_TGZ, VITE_APP_STEPS, VITE_APP_TIMEOUT_MS)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';
import { syntheticCifar10 } from './lib/cifar.mjs';
import { runBin, stageExample } from './lib/package.mjs';

const STEPS = Number(process.env.VITE_APP_STEPS ?? 3);
const TIMEOUT_MS = Number(process.env.VITE_APP_TIMEOUT_MS ?? 10 * 60 * 1000);

let APP;
let server;
let dataDir;
before(async () => {
  APP = stageExample('vite-app');
  console.log(runBin('vite', ['build', '--logLevel', 'warn'], APP));
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cskd-vite-app-'));
  fs.writeFileSync(path.join(dataDir, 'tiny-cifar10.tar.gz'), syntheticCifar10({ perClass: 2, testPerClass: 1, seed: 3 }));
  server = await serve({ root: path.join(APP, 'dist'), mounts: { '/data/': dataDir } });
});
after(async () => {
  await server?.close();
  for (const d of [dataDir, APP]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

test('vite build bundles the package, its worker and the wasm', () => {
  const assets = fs.readdirSync(path.join(APP, 'dist', 'assets'));
  assert.ok(assets.some((f) => /^trainer-worker-.*\.js$/.test(f)), `a worker chunk in ${assets}`);
  assert.ok(assets.some((f) => /^cskd_bg-.*\.wasm$/.test(f)), `the .wasm asset in ${assets}`);
  const html = fs.readFileSync(path.join(APP, 'dist', 'index.html'), 'utf8');
  assert.match(html, /<script type="module"[^>]*src="\/assets\/index-[^"]+\.js"/);
});

test('the built Vite app trains in a Web Worker: finite losses, the step count advances', { timeout: TIMEOUT_MS + 60_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}?steps=${STEPS}&method=cskd`);
    await waitInPage(page, () => document.body.dataset.done, null, { timeout: TIMEOUT_MS, errors, what: 'the training steps' });
    assert.equal(await page.evaluate(() => document.body.dataset.done), 'true', `page finished: ${await page.textContent('#status')}`);
    const rows = await page.$$eval('#steps tr', (trs) => trs.map((tr) => ({ step: Number(tr.dataset.step), loss: Number(tr.dataset.loss) })));
    console.log(`steps: ${rows.map((r) => `${r.step}:${r.loss.toFixed(4)}`).join(' ')}; adapter ${await page.textContent('#adapter')}`);
    assert.deepEqual(rows.map((r) => r.step), Array.from({ length: STEPS }, (_, i) => i + 1));
    assert.ok(rows.every((r) => Number.isFinite(r.loss) && r.loss > 0), 'every loss is finite and positive');
    const result = JSON.parse(await page.textContent('#result'));
    assert.equal(result.epochsDone, Math.floor(STEPS / 2), 'two steps per epoch');
    assert.ok(Number.isFinite(result.top1Error) && Number.isFinite(result.nll), JSON.stringify(result));
    assert.equal(result.count, 10, 'one test image per class');
    assert.ok(result.checkpointBytes > 1000, 'a checkpoint came back from the worker');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
