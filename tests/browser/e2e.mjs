// End-to-end tests of the demo page (dist/ from `trunk build --release`) in headless Chromium with
// WebGPU on SwiftShader. Run: node --test e2e.mjs   (see run.sh; env: DIST, E2E_EPOCHS, E2E_TIMEOUT_MS)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';
import { encodePng } from './lib/png.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const DIST = path.resolve(process.env.DIST ?? path.join(repo, 'dist'));
const ARTIFACTS = path.join(here, 'artifacts');
const EPOCHS = Number(process.env.E2E_EPOCHS ?? 2);
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 25 * 60 * 1000); // SwiftShader: ~0.1 GFLOP/s
const RESPONSIVE_MS = Number(process.env.E2E_RESPONSIVE_MS ?? 2000);
const QUERY = `?perClass=10&testPerClass=5&epochs=${EPOCHS}&method=both&batch=16&width=8&seed=1&autostart=1`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(...a);

let server;
before(async () => {
  for (const f of ['index.html', 'page/main.js', 'worker/trainer.js', 'shared/rpc.js', 'cskd.js', 'cskd_bg.wasm', 'vendor/uPlot.iife.min.js', 'assets/cifar10-demo.tar.gz']) {
    assert.ok(fs.existsSync(path.join(DIST, f)), `${DIST}/${f} is missing: run \`trunk build --release\` first (and put the demo data in www/assets/)`);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  server = await serve({ root: DIST });
});
after(async () => { await server?.close(); });

/** Collects uncaught page errors and console errors of a page. */
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  return errors;
}

const inkOf = (page, selector) => page.evaluate((sel) => {
  const c = document.querySelector(sel);
  return c ? window.__cskd.inkShare(c) : -1;
}, selector);

test('trains CE and CS-KD side by side and renders every view', { timeout: TIMEOUT_MS + 5 * 60 * 1000 }, async () => {
  const browser = await launch({ webgpu: true });
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const started = Date.now();
  try {
    await page.goto(server.url + QUERY);

    // The adapter is reported and training starts by itself (autostart=1).
    await waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 180_000, errors, what: 'the page to load the wasm module' });
    const boot = await page.evaluate(() => ({ webgpu: window.__cskd.webgpu, adapter: window.__cskd.adapter, error: window.__cskd.error, reason: window.__cskd.reason }));
    assert.equal(boot.error, null, `the wasm module loaded: ${boot.error}`);
    assert.equal(boot.webgpu, true, `WebGPU should be available: ${boot.reason}`);
    assert.ok(boot.adapter?.name !== undefined, 'adapter info reported');
    log(`adapter: ${JSON.stringify(boot.adapter)}`);
    assert.notEqual((await page.textContent('#adapter')).trim(), 'checking…');
    assert.equal(await page.isVisible('#no-webgpu'), false);

    // While training: the page answers quickly (main thread free), and Pause really pauses.
    const roundTrips = [];
    let pausedChecked = false;
    let lastLog = 0;
    for (;;) {
      const pageErrors = errors.filter((e) => e.startsWith('pageerror'));
      if (pageErrors.length) assert.fail(`page error during training: ${pageErrors.join('; ')}`);
      const s = await page.evaluate(() => ({ status: window.__cskd.status, error: window.__cskd.error, p: window.__cskd.progress }));
      if (s.status === 'error') assert.fail(`training failed: ${s.error}`);
      if (s.status === 'done' || s.status === 'stopped') break;
      if (Date.now() - started > TIMEOUT_MS) assert.fail(`training did not finish in ${TIMEOUT_MS / 1000} s (status ${s.status}, ${s.p.done}/${s.p.total} steps)`);
      if (s.status === 'training') {
        const t0 = Date.now();
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
        roundTrips.push(Date.now() - t0);
        if (!pausedChecked && s.p.done >= 1 && s.p.done < s.p.total - 1) {
          pausedChecked = true;
          await page.click('#pause');
          await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Paused') || ['done', 'error'].includes(window.__cskd.status), null, { timeout: TIMEOUT_MS });
          if (await page.evaluate(() => window.__cskd.status === 'paused')) {
            const d0 = await page.evaluate(() => window.__cskd.progress.done);
            await sleep(1500);
            const d1 = await page.evaluate(() => window.__cskd.progress.done);
            assert.equal(d1, d0, 'no training steps while paused');
            assert.equal(await page.textContent('#pause'), 'Resume');
            await page.click('#pause');
            log(`paused at step ${d0}, resumed`);
          }
        }
      }
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        log(`${((Date.now() - started) / 1000).toFixed(0)} s: ${s.status} ${s.p.done}/${s.p.total} steps · ${await page.textContent('#progress-text')}`);
      }
      await sleep(1000);
    }
    log(`W3: first finished step ${Math.round(await page.evaluate(() => window.__cskd.firstStepMs))} ms after navigation start`);
    log(`training took ${((Date.now() - started) / 1000).toFixed(1)} s; rAF round trips (ms): ${JSON.stringify(roundTrips)}`);

    const st = await page.evaluate(() => JSON.parse(JSON.stringify({
      status: window.__cskd.status, runs: window.__cskd.runs, runIds: window.__cskd.runIds, classes: window.__cskd.classes,
      rendered: window.__cskd.rendered, responsiveness: window.__cskd.responsiveness, progress: window.__cskd.progress,
    })));
    assert.equal(st.status, 'done');
    assert.deepEqual(st.runIds, ['ce', 'cskd']);
    assert.equal(st.progress.done, st.progress.total);
    for (const id of ['ce', 'cskd']) {
      const epochs = st.runs[id].epochs;
      assert.equal(epochs.length, EPOCHS, `${id}: one record per epoch`);
      epochs.forEach((r, k) => {
        assert.equal(r.epoch, k + 1);
        for (const key of ['loss', 'top1Error', 'top5Error', 'nll', 'ece']) {
          assert.ok(Number.isFinite(r[key]), `${id} epoch ${r.epoch}: ${key} = ${r[key]} is finite`);
        }
        for (const key of ['top1Error', 'top5Error', 'ece']) assert.ok(r[key] >= 0 && r[key] <= 1, `${id} ${key} in [0, 1]`);
        assert.ok(r.top5Error <= r.top1Error, `${id}: top-5 error ≤ top-1 error`);
        assert.ok(r.loss > 0 && r.nll > 0);
      });
      log(`${id}: ${JSON.stringify(epochs.map(({ epoch, loss, top1Error, ece }) => ({ epoch, loss, top1Error, ece })))}`);
      assert.equal(st.rendered.reliability[id], EPOCHS);
      assert.equal(st.rendered.embeddings[id], EPOCHS);
      assert.equal(st.rendered.confusion[id], EPOCHS);
    }
    assert.ok(st.classes.length >= 10);

    // Charts and views are drawn (canvases not blank).
    for (const sel of ['#reliability-ce', '#reliability-cskd', '#embeddings-ce', '#embeddings-cskd', '#confusion-ce', '#confusion-cskd']) {
      const ink = await inkOf(page, sel);
      assert.ok(ink > 0.005, `${sel} has content (ink ${ink})`);
    }
    for (const sel of ['#chart-loss canvas', '#chart-error canvas', '#chart-ece canvas']) {
      const ink = await inkOf(page, sel);
      assert.ok(ink > 0.001, `${sel} has content (ink ${ink})`);
    }
    const metricRows = await page.$$eval('#metrics tbody tr', (rows) => rows.map((r) => r.dataset.run));
    assert.deepEqual(metricRows, ['ce', 'cskd']);

    // The verdict under the charts: both runs' final values and B − A for each metric; one seed
    // cannot tell noise from effect, and the page says so.
    const verdict = await page.evaluate(() => window.__cskd.verdict);
    assert.ok(await page.isVisible('#verdict'), 'the verdict is shown when the runs finish');
    assert.equal(verdict.seeds.length, 1);
    const last = (id) => st.runs[id].epochs.at(-1);
    for (const row of verdict.rows) {
      assert.ok(Math.abs(row.a.mean - last('ce')[row.key]) < 1e-12, `${row.key}: run A is CE's final value`);
      assert.ok(Math.abs(row.b.mean - last('cskd')[row.key]) < 1e-12, `${row.key}: run B is CS-KD's final value`);
      assert.ok(Math.abs(row.diff - (row.b.mean - row.a.mean)) < 1e-12);
      assert.equal(row.exceeds, null);
    }
    assert.deepEqual(verdict.rows.map((r) => r.key), ['top1Error', 'nll', 'ece']);
    assert.equal(await page.$$eval('#verdict tbody tr', (rows) => rows.length), 3);
    assert.match(await page.textContent('#verdict-note'), /single seed cannot tell/);

    // The page stayed responsive during training.
    assert.ok(roundTrips.length > 0, 'sampled the page while it trained');
    assert.ok(Math.max(...roundTrips) < RESPONSIVE_MS, `requestAnimationFrame round trips stayed under ${RESPONSIVE_MS} ms: ${roundTrips}`);
    log(`max frame gap while training: ${st.responsiveness.maxFrameGapMs.toFixed(0)} ms over ${st.responsiveness.frames} frames, long tasks ${st.responsiveness.longTasks}`);

    // Gallery of test images; clicking one shows both runs' class probabilities.
    await page.selectOption('#gallery-filter', 'all');
    await page.waitForFunction(() => document.querySelectorAll('#gallery .thumb').length > 0, null, { timeout: 60_000 });
    await page.click('#gallery .thumb');
    await page.waitForFunction(() => window.__cskd.rendered.inspect != null, null, { timeout: 60_000 });
    for (const id of ['ce', 'cskd']) {
      const ps = await page.$$eval(`#inspect .bar[data-run="${id}"]`, (bars) => bars.map((b) => Number(b.dataset.p)));
      if (st.classes.length <= 10) assert.equal(ps.length, st.classes.length, `${id}: a bar per class`);
      else assert.ok(ps.length > 0);
      assert.ok(ps.every(Number.isFinite), `${id} probabilities finite`);
      if (st.classes.length <= 10) assert.ok(Math.abs(ps.reduce((a, b) => a + b, 0) - 1) < 1e-3, `${id} probabilities sum to 1`);
    }
    assert.ok((await inkOf(page, '#inspect canvas')) > 0, 'inspected image drawn');

    // Classify an uploaded image of a different size.
    const png = encodePng(50, 37, (x, y) => [200 + (x % 40), 40 + y, 30, 255]);
    await page.setInputFiles('#image-input', { name: 'upload.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction(() => window.__cskd.rendered.upload != null || document.querySelector('#status').classList.contains('error'), null, { timeout: 120_000 });
    const upload = await page.evaluate(() => window.__cskd.rendered.upload);
    assert.ok(upload, `upload classified: ${await page.textContent('#status')}`);
    assert.deepEqual([upload.width, upload.height], [50, 37]);
    for (const id of ['ce', 'cskd']) {
      const p = upload.runs[id];
      assert.equal(p.length, st.classes.length);
      assert.ok(p.every((v) => Number.isFinite(v) && v >= 0));
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-3, `${id}: uploaded image probabilities sum to 1`);
    }

    // Download the CE weights (safetensors) and load them back: the test metrics are unchanged.
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click('#save-ce')]);
    const ckpt = path.join(ARTIFACTS, 'ce.safetensors');
    await download.saveAs(ckpt);
    const bytes = fs.readFileSync(ckpt);
    assert.ok(bytes.length > 8, 'checkpoint is not empty');
    const headerLen = Number(bytes.readBigUInt64LE(0));
    assert.ok(headerLen > 0 && 8 + headerLen <= bytes.length, 'safetensors header length');
    JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
    assert.match(download.suggestedFilename(), /^cskd-ce-.*\.safetensors$/);
    await page.setInputFiles('#load-ce', ckpt);
    await page.waitForFunction(() => window.__cskd.runs.ce.final != null || document.querySelector('#status').classList.contains('error'), null, { timeout: 300_000 });
    const reloaded = await page.evaluate(() => window.__cskd.runs.ce.final);
    assert.ok(reloaded, `checkpoint loaded: ${await page.textContent('#status')}`);
    const lastCe = st.runs.ce.epochs.at(-1);
    assert.equal(reloaded.epoch, EPOCHS);
    assert.equal(reloaded.top1Error, lastCe.top1Error, 'same test error after a save/load round trip');
    assert.ok(Math.abs(reloaded.nll - lastCe.nll) < 1e-4, `same NLL after a save/load round trip (${reloaded.nll} vs ${lastCe.nll})`);

    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true }).catch(() => {});
    await browser.close();
  }
});

test('without WebGPU the page explains how to enable it and disables training', { timeout: 240_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  try {
    const check = async (page, errors) => {
      await page.goto(server.url + '?autostart=1');
      await waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 120_000, errors, what: 'the WebGPU check' });
      await page.waitForSelector('#no-webgpu', { state: 'visible', timeout: 5_000 });
      const text = await page.textContent('#no-webgpu');
      for (const s of ['WebGPU is unavailable', 'Chrome / Edge 113', 'chrome://flags/#enable-unsafe-webgpu', 'Safari 26', 'Firefox 141']) {
        assert.ok(text.includes(s), `#no-webgpu mentions ${s}`);
      }
      assert.equal(await page.isDisabled('#start'), true, 'Start is disabled');
      const st = await page.evaluate(() => ({ webgpu: window.__cskd.webgpu, status: window.__cskd.status, reason: window.__cskd.reason }));
      assert.equal(st.webgpu, false);
      assert.equal(st.status, 'unavailable');
      assert.deepEqual(errors, []);
      return st.reason;
    };
    await t.test('no adapter (Chromium without --enable-unsafe-webgpu)', async () => {
      const page = await browser.context.newPage();
      const errors = watchErrors(page);
      const reason = await check(page, errors);
      log(`reason shown: ${reason}`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'no-webgpu.png') });
      await page.close();
    });
    await t.test('no navigator.gpu at all', async () => {
      const page = await browser.context.newPage();
      await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
      const errors = watchErrors(page);
      const reason = await check(page, errors);
      assert.match(reason, /navigator\.gpu/);
      await page.close();
    });
  } finally {
    await browser.close();
  }
});
