// www/page/tsne.js in headless Chromium (no WebGPU needed): the module worker loads from its URL
// (../worker/tsne.js; www/ served as is, the layout trunk copies into dist/), gives the same embedding as the core
// run on the page's thread, reports progress, and cancel() ends it with an AbortError.
// tsne.test.mjs covers the algorithm in Node. Run: node --test tsne-browser.test.mjs   (env: CHROMIUM)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'www');

let server;
before(async () => { server = await serve({ root: WWW }); });
after(async () => { await server?.close(); });

test('runTsne in a module worker in Chromium: same result as on the page, progress, cancel', { timeout: 180_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}page/tsne.js`); // any same-origin document will do
    const r = await page.evaluate(async () => {
      const { runTsne } = await import('/page/tsne.js');
      const { tsne } = await import('/shared/tsne/core.js');
      // 4 clusters × 100 points in 32-D (PCA to 20 exercised too).
      let s = 7;
      const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
      const n = 400, dim = 32;
      const X = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) X[i * dim + j] = (i % 4 === j % 4 ? 4 : 0) + uniform();
      const options = { perplexity: 20, iterations: 200, seed: 4, pca: 20 };
      const iterations = [];
      const Y = await runTsne(X, n, dim, { ...options, onProgress: (p) => iterations.push(p.iteration) });
      const Z = tsne(X, n, dim, options);
      const run = runTsne(X, n, dim, { ...options, iterations: 100000, onProgress: () => run.cancel() });
      let cancelled = null;
      try { await run; } catch (e) { cancelled = e.name; }
      return { isFloat32: Y instanceof Float32Array, same: Y.length === 2 * n && Y.every((v, k) => v === Z[k]), iterations, cancelled };
    });
    assert.deepEqual(errors, []);
    assert.equal(r.isFloat32, true);
    assert.equal(r.same, true, 'worker and page thread give the same embedding');
    assert.deepEqual(r.iterations, Array.from({ length: 20 }, (_, i) => 10 * (i + 1)));
    assert.equal(r.cancelled, 'AbortError');
  } finally {
    await browser.close();
  }
});
