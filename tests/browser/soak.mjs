// Browser soak, outside the test run: the demo page (dist/ from `trunk build --release`) trains in
// headless Chromium (WebGPU on SwiftShader) for SOAK_MINUTES (default 20) while, every
// SOAK_INTERVAL_S (default 60), this samples
//   - the page's JS heap (CDP Performance.getMetrics: JSHeapUsedSize / JSHeapTotalSize),
//   - the training worker's JS heap (CDP Runtime.getHeapUsage in the worker) and the byte size of
//     every WebAssembly.Memory alive in it (Runtime.queryObjects) — the wasm linear memory,
//   - the resident memory of Chromium's renderer and GPU processes (/proc).
// and writes them to a CSV (SOAK_CSV, default runs/browser-soak.csv), then prints a summary.
//   node tests/browser/soak.mjs          (env: DIST, SOAK_MINUTES, SOAK_INTERVAL_S, SOAK_CSV, SOAK_QUERY)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const DIST = path.resolve(process.env.DIST ?? path.join(repo, 'dist'));
const MINUTES = Number(process.env.SOAK_MINUTES ?? 20);
const INTERVAL_S = Number(process.env.SOAK_INTERVAL_S ?? 60);
const CSV = path.resolve(process.env.SOAK_CSV ?? path.join(repo, 'runs', 'browser-soak.csv'));
const QUERY = process.env.SOAK_QUERY ??
  '?perClass=10&testPerClass=5&epochs=100000&method=cskd&batch=16&width=8&seed=1&autostart=1';
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RSS in bytes of this script's Chromium processes (descendants of this node process only:
 *  other Chromiums may run on the machine) whose command line has `--type=<type>`. */
function rssOfType(type) {
  const procs = new Map();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      procs.set(Number(pid), {
        ppid: Number(/PPid:\s+(\d+)/.exec(status)?.[1]),
        rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024,
        cmd: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
      });
    } catch { /* the process ended */ }
  }
  const ours = (pid) => {
    for (let p = procs.get(pid)?.ppid; p; p = procs.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, p] of procs) if (p.cmd.includes(`--type=${type}`) && ours(pid)) total += p.rss;
  return total;
}

/**
 * A CDP channel to the page's dedicated worker, through the browser session: attach without
 * flattening and talk with Target.sendMessageToTarget (playwright-core's CDPSession has no
 * sessionId parameter).
 */
async function workerChannel(browserSession) {
  const { targetInfos } = await browserSession.send('Target.getTargets');
  const worker = targetInfos.find((t) => t.type === 'worker');
  if (!worker) return null;
  const { sessionId } = await browserSession.send('Target.attachToTarget', { targetId: worker.targetId, flatten: false });
  let next = 1;
  const pending = new Map();
  browserSession.on('Target.receivedMessageFromTarget', (ev) => {
    if (ev.sessionId !== sessionId) return;
    const msg = JSON.parse(ev.message);
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${msg.error.message}`));
    else p.resolve(msg.result);
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    browserSession.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  return {
    async sample() {
      const heap = await send('Runtime.getHeapUsage');
      const proto = await send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype' });
      const found = await send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const sizes = await send('Runtime.callFunctionOn', {
        objectId: found.objects.objectId,
        functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength); }',
        returnByValue: true,
      });
      await send('Runtime.releaseObjectGroup', { objectGroup: '' }).catch(() => {});
      return { heapUsed: heap.usedSize, heapTotal: heap.totalSize, wasm: sizes.result.value.reduce((a, b) => a + b, 0) };
    },
  };
}

const metric = (metrics, name) => metrics.find((m) => m.name === name)?.value ?? NaN;

async function main() {
  if (!fs.existsSync(path.join(DIST, 'cskd_bg.wasm'))) throw new Error(`${DIST}: run \`trunk build --release\` first`);
  fs.mkdirSync(path.dirname(CSV), { recursive: true });
  const server = await serve({ root: DIST });
  const browser = await launch({ webgpu: true });
  const rows = [];
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(server.url + QUERY);
    await waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 180_000, errors, what: 'the wasm module' });
    const pageSession = await browser.context.newCDPSession(page);
    await pageSession.send('Performance.enable');
    const browserSession = await browser.context.browser().newBrowserCDPSession();
    let worker = null;
    const start = Date.now();
    fs.writeFileSync(CSV, 'minutes,epoch,page_heap_used,page_heap_total,worker_heap_used,worker_heap_total,wasm_memory,renderer_rss,gpu_rss\n');
    for (let i = 0; ; i++) {
      const due = start + i * INTERVAL_S * 1000;
      if (due > start + MINUTES * 60_000) break;
      await sleep(Math.max(0, due - Date.now()));
      if (errors.length) throw new Error(errors.join('; '));
      worker ??= await workerChannel(browserSession);
      await pageSession.send('HeapProfiler.collectGarbage').catch(() => {});
      const { metrics } = await pageSession.send('Performance.getMetrics');
      const w = worker ? await worker.sample() : { heapUsed: NaN, heapTotal: NaN, wasm: NaN };
      const epoch = await page.evaluate(() => {
        const s = window.__cskd;
        const runs = Object.values(s?.runs ?? {});
        return runs.length ? Math.max(...runs.map((r) => r.epochs?.length ?? 0)) : -1;
      }).catch(() => -1);
      const row = [((Date.now() - start) / 60_000).toFixed(2), epoch, metric(metrics, 'JSHeapUsedSize'), metric(metrics, 'JSHeapTotalSize'),
        w.heapUsed, w.heapTotal, w.wasm, rssOfType('renderer'), rssOfType('gpu-process')];
      rows.push(row);
      fs.appendFileSync(CSV, row.join(',') + '\n');
      console.log(`soak: ${row.join(',')}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  // Summary from the second sample on (the first is taken while the run warms up).
  const col = (k) => rows.slice(1).map((r) => Number(r[k]));
  const summary = (name, k) => {
    const v = col(k);
    if (!v.length) return;
    console.log(`${name}: first ${(v[0] / MiB).toFixed(1)} MiB, last ${(v.at(-1) / MiB).toFixed(1)} MiB, ` +
      `min ${(Math.min(...v) / MiB).toFixed(1)}, max ${(Math.max(...v) / MiB).toFixed(1)} MiB`);
  };
  console.log(`browser soak: ${rows.at(-1)?.[0]} min, ${rows.length} samples, epoch ${rows.at(-1)?.[1]} → ${CSV}`);
  summary('page JS heap used', 2);
  summary('worker JS heap used', 4);
  summary('wasm memory', 6);
  summary('renderer RSS', 7);
  summary('GPU process RSS', 8);
}

main().catch((e) => { console.error(`browser soak failed: ${e.stack ?? e}`); process.exit(1); });
