// A preset run as a person runs it: the page (dist/ of `trunk build --release`) in headless Chromium on
// SwiftShader, `?preset=NAME&seed=S&autostart=1` on the bundled demo data, timed from Start to the last
// epoch of both runs. Prints each run's best and final top-1 error, final NLL and ECE, and the page's
// verdict, as one JSON line per seed (docs/REGIMES.md's Chromium column). Outside the test suite:
//   node tests/browser/preset-run.mjs [--preset software] [--seeds 1,2] [--dist dist]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : args[i + 1];
};
const preset = opt('preset', 'software');
const seeds = opt('seeds', '1').split(',').map(Number);
const dist = path.resolve(opt('dist', path.join(here, '..', '..', 'dist')));
const HOURS = 3 * 3600 * 1000;

const server = await serve({ root: dist });
try {
  for (const seed of seeds) {
    const { context, close } = await launch({ webgpu: true });
    try {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(`${server.url}?preset=${preset}&seed=${seed}&autostart=1`);
      await waitInPage(page, () => window.__cskd?.status === 'training', null, { timeout: 300_000, errors, what: 'the start' });
      const t0 = Date.now();
      await waitInPage(page, () => ['done', 'error', 'stopped'].includes(window.__cskd.status), null,
        { timeout: HOURS, errors, what: `preset ${preset} seed ${seed}` });
      const seconds = (Date.now() - t0) / 1000;
      const st = await page.evaluate(() => JSON.parse(JSON.stringify({
        status: window.__cskd.status, error: window.__cskd.error, adapter: window.__cskd.adapter?.name,
        runs: window.__cskd.runs, runIds: window.__cskd.runIds, verdict: window.__cskd.verdict,
      })));
      if (st.status !== 'done') throw new Error(`seed ${seed}: ${st.status} ${st.error ?? ''}`);
      const runs = Object.fromEntries(st.runIds.map((id) => {
        const e = st.runs[id].epochs;
        return [id, {
          epochs: e.length, bestTop1Error: Math.min(...e.map((r) => r.top1Error)), finalTop1Error: e.at(-1).top1Error,
          nll: e.at(-1).nll, ece: e.at(-1).ece,
        }];
      }));
      console.log(JSON.stringify({ preset, seed, adapter: st.adapter, seconds, runs }));
    } finally {
      await close();
    }
  }
} finally {
  await server.close();
}
