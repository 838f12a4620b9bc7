import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
const s = await serve({ root: '/tmp/mockdist' });
const b = await launch({ webgpu: true });
const page = await b.context.newPage();
page.on('console', m => console.log('console:', m.type(), m.text()));
page.on('pageerror', e => console.log('pageerror:', e.message));
await page.goto(s.url + '?perClass=10&testPerClass=5&epochs=2&method=both&batch=16&width=8&autostart=1');
try {
  await page.waitForFunction(() => ['done', 'error'].includes(window.__cskd.status), null, { timeout: 60000 });
} catch (e) { console.log('timeout', await page.evaluate(() => JSON.stringify({ s: __cskd.status, e: __cskd.error }))); }
console.log(await page.evaluate(() => JSON.stringify({ status: __cskd.status, err: __cskd.error, runs: Object.fromEntries(Object.entries(__cskd.runs).map(([k, v]) => [k, v.epochs])), r: __cskd.rendered, resp: __cskd.responsiveness, prog: __cskd.progress })));
console.log(await page.textContent('#status'), '|', await page.textContent('#progress-text'), '|', await page.textContent('#adapter'));
await page.screenshot({ path: '/tmp/smoke.png', fullPage: true });
await b.close(); await s.close();
