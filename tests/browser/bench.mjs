// bench.html (W1 of docs/BENCHMARKS.md, or another of its modes) in headless Chromium (WebGPU on
// SwiftShader), outside the test suite; prints the page's table and its JSON:
//   node tests/browser/bench.mjs [batch] [steps] [query]     (after tests/browser/run.sh built dist/)
// query adds to bench.html's: profile=1, kernels=all (every kernel vs the CPU reference, then timed),
// pipeline=2 (a Trainer's step() against steps(n), A B A B A). SwiftShader is slow (~0.1–0.2 GFLOP/s):
// the default is B = 16 (as the TensorFlow.js figure) and 5 timed steps.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [batch = '16', steps = '5', query = ''] = process.argv.slice(2);
const server = await serve({ root: path.join(here, '../../dist') });
const { context, close } = await launch();
try {
  const page = await context.newPage();
  await page.goto(`${server.url}bench.html?batch=${batch}&steps=${steps}${query ? `&${query}` : ''}`);
  await page.waitForFunction(() => window.__bench, null, { timeout: 60 * 60 * 1000, polling: 1000 });
  const result = await page.evaluate(() => window.__bench);
  console.log(await page.textContent('#result'));
  if (result.error) process.exitCode = 1;
} finally {
  await close();
  await server.close?.();
}
