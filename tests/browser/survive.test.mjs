// The demo run survives a reload and a lost GPU device (headless Chromium, WebGPU on SwiftShader):
//   1. paused mid-epoch (auto-saved to IndexedDB), reloaded, resumed → the same per-epoch history
//      (train loss and every test metric, exactly) as an uninterrupted run;
//   2. the worker's GPUDevice destroyed mid-run → a new device, every run resumes from its last save,
//      the page says so, and the run finishes with the same history.
// Run: node --test survive.test.mjs  (after `trunk build --release`; env: DIST, SURVIVE_TIMEOUT_MS)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.DIST ?? path.join(here, '..', '..', 'dist'));
const TIMEOUT_MS = Number(process.env.SURVIVE_TIMEOUT_MS ?? 10 * 60 * 1000);
const EPOCHS = 2;
// Steps per epoch: enough that a pause clicked right after the first step lands mid-epoch even when
// a step takes milliseconds. The worker's Trainer.steps calls grow to 16 steps when steps are fast
// and end at an epoch's end (www/worker/scheduler.js, MAX_STEPS_PER_CALL), so an epoch needs well over
// 1 + 1 + 16 steps for the call in flight at the pause not to end the epoch.
const BATCH = 4;
const STEPS = 40;
// Tiny on purpose (SwiftShader): 160 training images → 40 steps of 4 per epoch, 10 test images.
const QUERY = `?perClass=${(STEPS * BATCH) / 10}&testPerClass=1&epochs=${EPOCHS}&method=both&batch=${BATCH}&width=4&seed=1`;
const IDS = ['ce', 'cskd'];

const log = (...a) => console.log(...a);

let server;
before(async () => {
  for (const f of ['index.html', 'page/main.js', 'worker/trainer.js', 'shared/store.js', 'cskd.js', 'cskd_bg.wasm', 'assets/cifar10-demo.tar.gz']) {
    assert.ok(fs.existsSync(path.join(DIST, f)), `${DIST}/${f} is missing: run \`trunk build --release\` first`);
  }
  fs.mkdirSync(path.join(here, 'artifacts'), { recursive: true });
  server = await serve({ root: DIST });
});
after(async () => { await server?.close(); });

/** A fresh browser profile (its own origin storage) with one page; errors collects page errors. */
async function open() {
  const browser = await launch({ webgpu: true });
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  return { browser, page, errors };
}

const ready = (page, errors) => waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 180_000, errors, what: 'the wasm module' });

/** Waits for `fn` in the page; fails at once on a page error or when the run reports an error. */
async function until(page, errors, fn, arg, what) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const pageErrors = errors.filter((e) => e.startsWith('pageerror'));
    if (pageErrors.length) assert.fail(`page error while waiting for ${what}: ${pageErrors.join('; ')}`);
    const st = await page.evaluate(() => ({ status: window.__cskd.status, error: window.__cskd.error }));
    if (st.status === 'error') assert.fail(`${what}: the run failed: ${st.error}`);
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Per-epoch records of every run: what the charts and the metrics table show. */
const history = (page) => page.evaluate(() => JSON.parse(JSON.stringify(
  Object.fromEntries(window.__cskd.runIds.map((id) => [id, window.__cskd.runs[id].epochs])),
)));

let referencePromise = null;
/** The uninterrupted run, computed once for both tests. */
function reference() {
  referencePromise ??= (async () => {
    const { browser, page, errors } = await open();
    try {
      const t0 = Date.now();
      await page.goto(server.url + QUERY + '&autostart=1');
      await ready(page, errors);
      await until(page, errors, () => window.__cskd.status === 'done', null, 'the uninterrupted run');
      const h = await history(page);
      log(`uninterrupted run: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      for (const id of IDS) assert.equal(h[id].length, EPOCHS, `${id}: one record per epoch`);
      assert.deepEqual(errors, []);
      return h;
    } finally {
      await browser.close();
    }
  })();
  return referencePromise;
}

test('a reload mid-epoch resumes each run exactly where it was', { timeout: 4 * TIMEOUT_MS }, async () => {
  const expected = await reference();
  const { browser, page, errors } = await open();
  try {
    await page.goto(server.url + QUERY + '&autostart=1');
    await ready(page, errors);
    // Polled every 10 ms, so that the pause lands within the first calls of steps.
    await waitInPage(page, () => window.__cskd.progress.done >= 1 && window.__cskd.status === 'training', null,
      { timeout: TIMEOUT_MS, errors, what: 'the first step', interval: 10 });
    await page.click('#pause');
    await until(page, errors, (ids) => ids.every((id) => window.__cskd.saved[id]?.reason === 'pause'), IDS, 'the save on pause');
    const saved = await page.evaluate(() => window.__cskd.saved);
    log(`saved on pause: ${JSON.stringify(saved)}`);
    for (const id of IDS) assert.ok(saved[id].stored, `${id} written to IndexedDB: ${saved[id].error}`);
    assert.ok(IDS.some((id) => saved[id].stepInEpoch > 0), 'paused mid-epoch');
    assert.match(await page.textContent('#save-status'), /Auto-saved in this browser/);

    await page.reload();
    await ready(page, errors);
    await page.waitForSelector('#saved-runs', { state: 'visible', timeout: 30_000 });
    // The offer lists each run with where it stopped; ?autostart=1 did not replace it.
    for (const id of IDS) {
      const text = await page.textContent(`#saved-list li[data-run="${id}"]`);
      const s = saved[id];
      const where = `${s.epoch} of ${EPOCHS} epochs done${s.stepInEpoch ? `, ${s.stepInEpoch} of ${STEPS} steps into epoch ${s.epoch + 1}` : ''}`;
      assert.ok(text.includes(where), `${id} offer says "${where}": ${text}`);
    }
    assert.equal(await page.evaluate(() => window.__cskd.status), 'idle', 'nothing started by itself');
    assert.deepEqual(await page.evaluate(() => window.__cskd.runIds), []);

    await page.click('#resume-all');
    await until(page, errors, () => window.__cskd.status === 'done', null, 'the resumed run');
    const got = await history(page);
    for (const id of IDS) log(`${id}: ${JSON.stringify(got[id].map(({ epoch, loss, top1Error, nll }) => ({ epoch, loss, top1Error, nll })))}`);
    assert.deepEqual(got, expected, 'same history as the uninterrupted run');

    // Discarding the saved runs empties the offer, also after another reload.
    await page.reload();
    await ready(page, errors);
    await page.waitForSelector('#saved-runs', { state: 'visible', timeout: 30_000 });
    await page.click('#discard-saved');
    await page.waitForSelector('#saved-runs', { state: 'hidden', timeout: 30_000 });
    await page.reload();
    await ready(page, errors);
    await until(page, errors, () => window.__cskd.status === 'training' || window.__cskd.status === 'done', null, 'a new autostarted run');
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await page.screenshot({ path: path.join(here, 'artifacts', 'survive-reload.png'), fullPage: true }).catch(() => {});
    await browser.close();
  }
});

test('a destroyed GPU device is replaced and every run continues from its last save', { timeout: 4 * TIMEOUT_MS }, async () => {
  const expected = await reference();
  const { browser, page, errors } = await open();
  try {
    await page.goto(server.url + QUERY + '&autostart=1');
    await ready(page, errors);
    // Destroy the device once every run was saved after epoch 1: the recovery must use that save.
    await until(page, errors, (ids) => ids.every((id) => window.__cskd.saved[id]?.epoch >= 1), IDS, 'the saves after epoch 1');
    await page.evaluate(() => window.__cskd.destroyDeviceForTesting());
    await until(page, errors, () => window.__cskd.recoveries.length > 0, null, 'the recovery');
    const rec = await page.evaluate(() => window.__cskd.recoveries[0]);
    log(`recovered: ${rec.text}`);
    assert.deepEqual(rec.runs.map((r) => r.id), IDS, 'every run resumed');
    for (const r of rec.runs) assert.ok(r.epoch >= 1, `${r.id} resumed from its epoch-1 save (epoch ${r.epoch})`);
    assert.ok(await page.isVisible('#gpu-notice'), 'the user is told');
    assert.match(await page.textContent('#gpu-notice'), /GPU device was lost.*resumed from the last saves/);

    await until(page, errors, () => window.__cskd.status === 'done', null, 'the run after the recovery');
    const got = await history(page);
    assert.deepEqual(got, expected, 'same history as the uninterrupted run');
    assert.deepEqual(errors.filter((e) => !/device|lost|destroy/i.test(e)), [], 'no other page errors');
  } finally {
    await page.screenshot({ path: path.join(here, 'artifacts', 'survive-device-lost.png'), fullPage: true }).catch(() => {});
    await browser.close();
  }
});

test('a run on a local file resumes after a reload mid-step, from the stored copy of the file', { timeout: 4 * TIMEOUT_MS }, async () => {
  const expected = await reference(); // the same bytes, served by URL there
  const { browser, page, errors } = await open();
  try {
    await page.goto(server.url + QUERY + '&data-source=file');
    await ready(page, errors);
    await page.setInputFiles('#data-file', path.join(DIST, 'assets', 'cifar10-demo.tar.gz'));
    await page.click('#start');
    await until(page, errors, (ids) => ids.every((id) => window.__cskd.saved[id]?.epoch >= 1), IDS, 'the saves after epoch 1');
    await page.reload(); // no pause: the worker dies mid-step
    await ready(page, errors);
    await page.waitForSelector('#saved-runs', { state: 'visible', timeout: 30_000 });
    for (const id of IDS) {
      assert.match(await page.textContent(`#saved-list li[data-run="${id}"]`), /cifar10-demo\.tar\.gz \(local file\)/);
    }
    assert.equal(await page.evaluate(() => document.querySelector('#data-file').files.length), 0, 'no file chosen now');
    await page.click('#resume-all');
    await until(page, errors, () => window.__cskd.status === 'done', null, 'the resumed run');
    assert.deepEqual(await history(page), expected, 'same history as the uninterrupted run');
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await browser.close();
  }
});
