// W1 and W3 of two builds of the page, alternated (A B A B …) in one session so a noisy machine
// weighs on both alike. Outside the test suite; each run gets a fresh Chromium (no warm caches):
//   node tests/browser/bench-ab.mjs DIST_A DIST_B [--rounds 2] [--batch 16] [--steps 3] [--no-w1] [--no-w3]
// DIST_* are `trunk build --release` outputs (dist/ folders; W3 needs assets/cifar10-demo.tar.gz).
// W1: bench.html's benchW1 (CS-KD, 3 warm-up steps, median of --steps). W3: index.html with the
// e2e test's small demo query, page load → first finished step (window.__cskd.firstStepMs).
import path from 'node:path';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const flag = name.startsWith('no-');
  const v = flag ? true : args[i + 1];
  args.splice(i, flag ? 1 : 2);
  return v;
};
const rounds = Number(opt('rounds', 2));
const batch = Number(opt('batch', 16));
const steps = Number(opt('steps', 3));
const noW1 = opt('no-w1', false);
const noW3 = opt('no-w3', false);
if (args.length < 1) throw new Error('usage: bench-ab.mjs DIST_A [DIST_B …] [--rounds N] [--batch B] [--steps S] [--no-w1] [--no-w3]');
const dists = args.map((d) => path.resolve(d));
const W3_QUERY = '?perClass=10&testPerClass=5&epochs=1&method=both&batch=16&width=8&seed=1&autostart=1';

async function inBrowser(dist, fn) {
  const server = await serve({ root: dist });
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    return await fn(page, server.url, errors);
  } finally {
    await close();
    await server.close?.();
  }
}

const w1 = (dist) => inBrowser(dist, async (page, url) => {
  const t = Date.now();
  await page.goto(`${url}bench.html?batch=${batch}&steps=${steps}&method=cskd`);
  await page.waitForFunction(() => window.__bench, null, { timeout: 60 * 60 * 1000, polling: 500 });
  const r = await page.evaluate(() => window.__bench);
  if (r.error) throw new Error(`${dist}: ${r.error}`);
  const m = r.w1[0];
  return { img_s: +m.imagesPerSec.toFixed(2), median_step_ms: Math.round(m.medianStepMs), dispatches: m.dispatchesPerStep, wall_s: Math.round((Date.now() - t) / 1000) };
});

const w3 = (dist) => inBrowser(dist, async (page, url, errors) => {
  await page.goto(url + W3_QUERY);
  await waitInPage(page, () => window.__cskd?.firstStepMs, null, { timeout: 600_000, errors, what: 'the first step' });
  return { first_step_ms: Math.round(await page.evaluate(() => window.__cskd.firstStepMs)) };
});

const results = dists.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, d] of dists.entries()) {
    const row = { ...(noW1 ? {} : await w1(d)), ...(noW3 ? {} : await w3(d)) };
    results[i].push(row);
    console.log(`round ${r} ${d}: ${JSON.stringify(row)}`);
  }
}
console.log(JSON.stringify(Object.fromEntries(dists.map((d, i) => [d, results[i]])), null, 1));
