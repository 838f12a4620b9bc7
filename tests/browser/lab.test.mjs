// The lab page's defaults, presets and live views (headless Chromium, WebGPU on SwiftShader):
//   1. presets set every field and the two runs they compare;
//   2. on the software adapter the page says so, picks the software preset, and its default run draws a
//      per-step loss curve (≥ 2 points per run); the time from Start is logged (a benchmark figure for
//      the README, ~5–8 s here), LAB_FIRST_CURVE_MS (180 s) only guards against a hang;
//   3. after epoch 1 the t-SNE view renders a map of points for every run.
// Run: node --test lab.test.mjs  (after `trunk build --release`; env: DIST, LAB_FIRST_CURVE_MS, LAB_TIMEOUT_MS)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';
import { superclassOrder } from '../../www/page/ui/superclasses.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.DIST ?? path.join(here, '..', '..', 'dist'));
const FIRST_CURVE_MS = Number(process.env.LAB_FIRST_CURVE_MS ?? 180_000);
const TIMEOUT_MS = Number(process.env.LAB_TIMEOUT_MS ?? 10 * 60 * 1000);
const log = (...a) => console.log(...a);

let server, browser, page;
const errors = [];
before(async () => {
  for (const f of ['index.html', 'page/main.js', 'page/ui/controls.js', 'worker/trainer.js', 'worker/scheduler.js', 'worker/tsne.js', 'shared/protocol.js', 'shared/pca.js', 'cskd.js', 'cskd_bg.wasm']) {
    assert.ok(fs.existsSync(path.join(DIST, f)), `${DIST}/${f} is missing: run \`trunk build --release\` first`);
  }
  fs.mkdirSync(path.join(here, 'artifacts'), { recursive: true });
  server = await serve({ root: DIST });
  browser = await launch({ webgpu: true });
  page = await browser.context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  await page.goto(server.url);
  await waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 180_000, errors, what: 'the wasm module' });
});
after(async () => {
  await page?.screenshot({ path: path.join(here, 'artifacts', 'lab.png'), fullPage: true }).catch(() => {});
  await browser?.close();
  await server?.close();
});

const fields = () => page.evaluate(() => Object.fromEntries(
  [...document.querySelectorAll('#config input[id], #config select[id]')]
    .filter((el) => el.type !== 'file')
    .map((el) => [el.id, el.type === 'checkbox' ? el.checked : el.value]),
));

test('CIFAR-100 confusion order groups the classes by superclass, by name or by index', () => {
  const FISH = ['aquarium_fish', 'flatfish', 'ray', 'shark', 'trout'];
  const unnamed = Array.from({ length: 100 }, (_, i) => `class ${i}`);
  const byIndex = superclassOrder(unnamed);
  assert.equal(byIndex.groups.length, 20);
  assert.ok(byIndex.groups.every((g) => g.size === 5));
  assert.deepEqual([...byIndex.order].sort((a, b) => a - b), [...Array(100).keys()], 'a permutation');
  // Fine labels are alphabetical in the official files: the names give the same order.
  const sortedFine = byIndex.order.map((i) => i); // indices in superclass order
  // Shuffle the class list: matching by name must follow the names, not the positions.
  const alphabetical = ['apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle', 'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle', 'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur', 'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard', 'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain', 'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree', 'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket', 'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider', 'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor', 'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm'];
  assert.deepEqual(superclassOrder(alphabetical).order, sortedFine);
  const reversed = [...alphabetical].reverse();
  const order = superclassOrder(reversed).order;
  assert.deepEqual(order.slice(5, 10).map((i) => reversed[i]), FISH, 'the second block is the fish');
  assert.equal(superclassOrder(Array.from({ length: 10 }, (_, i) => `c${i}`)), null, 'CIFAR-10 has no superclasses');
});

test('presets set every field and the runs they compare', async () => {
  const expected = {
    quick: { runs: ['ce', 'cskd'], perClass: '10', width: '4', epochs: '3' },
    software: { runs: ['ce', 'cskd'], perClass: '10', testPerClass: '25', width: '16', epochs: '40', weightDecay: '0.0005' },
    paper: { runs: ['ce', 'cskd'], perClass: '100', width: '32', epochs: '60', batch: '128', model: 'smallcnn' },
    mixup: { runs: ['cskd', 'cskd-mixup'], perClass: '100', mixAlpha: '1', mixB: 'mixup' },
    pskd: { runs: ['pskd', 'cskd'], perClass: '100', pskdAlpha: '0.8', methodA: 'pskd' },
  };
  // The menu is the crate's one list (src/train/presets.json, through the wasm API's presets()).
  const owned = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'src', 'train', 'presets.json'), 'utf8'));
  const menu = await page.evaluate(() => [...document.querySelectorAll('#preset option')].map((o) => o.value).filter(Boolean));
  assert.deepEqual(menu, owned.map((p) => p.key), 'the menu lists presets.json');
  assert.deepEqual(Object.keys(expected), menu);
  const before = await fields();
  for (const [key, want] of Object.entries(expected)) {
    // Scramble every field first, so a preset that forgets one is caught.
    await page.evaluate(() => {
      for (const el of document.querySelectorAll('#config input[type=number]')) el.value = '7';
      for (const el of document.querySelectorAll('#config select')) if (el.id !== 'preset' && el.id !== 'data-source') el.selectedIndex = el.options.length - 1;
      document.querySelector('#augment').checked = false;
    });
    await page.selectOption('#preset', key);
    const f = await fields();
    const runs = await page.evaluate(() => window.__cskd.plannedRuns());
    assert.deepEqual(runs.map((r) => r.id), want.runs, `${key}: the runs`);
    for (const [k, v] of Object.entries(want)) if (k !== 'runs') assert.equal(f[k], v, `${key}: ${k}`);
    assert.equal(f.augment, true, `${key}: augment`);
    assert.equal(f.model, 'smallcnn', `${key}: model`);
    assert.equal(f.schedule, 'step', `${key}: schedule`);
    for (const [k, v] of Object.entries(f)) {
      if (['preset', 'dataSource', 'data-source'].includes(k)) continue;
      assert.ok(v !== '7', `${key} sets ${k} (still the scrambled value)`);
    }
    assert.ok((await page.textContent('#preset-note')).length > 40, `${key}: the preset explains itself`);
    assert.equal(await page.evaluate(() => window.__cskd.preset), key);
  }
  // Editing a field by hand leaves the preset.
  await page.fill('#epochs', '5');
  await page.dispatchEvent('#epochs', 'change');
  assert.equal(await page.evaluate(() => window.__cskd.preset), null);
  assert.equal(await page.inputValue('#preset'), '');
  log(`defaults before the presets: ${JSON.stringify(before)}`);
});

test('on a software adapter the default run shows a live loss curve at once, then t-SNE after epoch 1', { timeout: TIMEOUT_MS + 60_000 }, async () => {
  await page.reload();
  await waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 180_000, errors, what: 'the wasm module' });
  const boot = await page.evaluate(() => ({ software: window.__cskd.software, preset: window.__cskd.preset, adapter: window.__cskd.adapter }));
  log(`adapter: ${JSON.stringify(boot.adapter.name)} (${boot.adapter.deviceType})`);
  assert.equal(boot.software, true, 'SwiftShader is a software adapter');
  assert.equal(boot.preset, 'software', 'the software default is the preset made for it');
  const note = await page.textContent('#adapter-note');
  assert.match(note, /software rendering/);
  assert.match(note, /images\/s/);
  // Before Start, every panel says what will appear and when.
  for (const sel of ['#metrics-empty', '#reliability-empty', '#embeddings-empty', '#confusion-empty', '#gallery-empty', '#ckpt-empty']) {
    assert.match(await page.textContent(sel), /after|once|Start/, `${sel} says when`);
    assert.ok(await page.isVisible(sel), `${sel} is shown`);
  }
  assert.match(await page.textContent('#chart-steps .chart-empty'), /first step/);

  const t0 = Date.now();
  await page.click('#start');
  await waitInPage(page, () => window.__cskd.status === 'error' || window.__cskd.runIds.length === 2
    && window.__cskd.runIds.every((id) => window.__cskd.runs[id].steps.length >= 2) && window.__cskd.rendered.stepPoints >= 2,
  null, { timeout: FIRST_CURVE_MS, errors, what: `≥ 2 step losses per run (hang guard ${FIRST_CURVE_MS} ms)` });
  const firstCurveMs = Date.now() - t0;
  const st = await page.evaluate(() => ({ error: window.__cskd.error, runIds: window.__cskd.runIds, steps: window.__cskd.runIds.map((id) => window.__cskd.runs[id].steps) }));
  assert.equal(st.error, null);
  log(`step-loss curve: ${JSON.stringify(st.steps)} after ${firstCurveMs} ms`);
  for (const s of st.steps) {
    assert.ok(s.every(([x, y]) => x > 0 && x <= 3 && Number.isFinite(y) && y > 0), 'points in epochs (0, 3] with finite losses');
    assert.ok(s.every(([x], k) => k === 0 || x > s[k - 1][0]), 'one point per step, in order');
  }
  assert.ok(await page.evaluate(() => window.__cskd.inkShare(document.querySelector('#chart-steps canvas'))) > 0.001, 'the curve is drawn');
  assert.equal(await page.isVisible('#chart-steps .chart-empty'), false, 'the empty-chart note is gone');

  // After epoch 1: the PCA maps, then t-SNE on request.
  await waitInPage(page, () => window.__cskd.status === 'error' || window.__cskd.runIds.every((id) => window.__cskd.rendered.embeddings[id] >= 1),
    null, { timeout: TIMEOUT_MS, errors, what: 'epoch 1 of both runs' });
  assert.equal(await page.evaluate(() => window.__cskd.error), null);
  log(`epoch 1 of both runs after ${Date.now() - t0} ms; images/s ${JSON.stringify(await page.evaluate(() => window.__cskd.progress.imagesPerSec))}`);
  await page.click('#stop');
  await waitInPage(page, () => ['stopped', 'done'].includes(window.__cskd.status), null, { timeout: TIMEOUT_MS, errors, what: 'the stop' });
  await page.check('#map-tsne');
  await waitInPage(page, () => window.__cskd.runIds.every((id) => window.__cskd.rendered.tsne[id] >= 1),
    null, { timeout: 120_000, errors, what: 't-SNE of both runs' });
  for (const id of st.runIds) {
    const ink = await page.evaluate((sel) => window.__cskd.inkShare(document.querySelector(sel)), `#embeddings-${id}`);
    assert.ok(ink > 0.005, `#embeddings-${id} shows the t-SNE points (ink ${ink})`);
  }
  assert.match(await page.textContent('#tsne-status'), /t-SNE done/);
  // Back to PCA: the instant view returns.
  await page.check('#map-pca');
  assert.equal(await page.textContent('#tsne-status'), '');
  assert.deepEqual(errors.filter((e) => e.startsWith('pageerror')), []);
});
