// The setup form as a person sees it: at 1366×900, 1920×1080 and a 390-px phone, no two labels or
// inputs of the form overlap (bounding boxes), and nothing sticks out of the page sideways.
// Screenshots of each go to tests/browser/artifacts/layout-<width>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch, waitInPage } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.DIST ?? path.join(here, '..', '..', 'dist'));
const VIEWPORTS = [
  { width: 1366, height: 900 },
  { width: 1920, height: 1080 },
  { width: 390, height: 844 },
];

let server, browser;
before(async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `${DIST}/index.html is missing: run \`trunk build --release\` first`);
  fs.mkdirSync(path.join(here, 'artifacts'), { recursive: true });
  server = await serve({ root: DIST });
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Boxes of every visible label text and control of the setup form. */
function boxes() {
  const out = [];
  const visible = (r) => r.width > 0 && r.height > 0;
  for (const el of document.querySelectorAll('#config input, #config select, #config legend, #config label')) {
    if (el.type === 'hidden' || el.closest('[hidden]')) continue;
    // A label holds its control: measure its own text, not the box around both.
    let r;
    if (el.tagName === 'LABEL') {
      const text = [...el.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      if (!text) continue;
      const range = document.createRange();
      range.selectNodeContents(text);
      r = range.getBoundingClientRect();
    } else {
      r = el.getBoundingClientRect();
    }
    if (!visible(r)) continue;
    out.push({ what: `${el.tagName.toLowerCase()}#${el.id || el.textContent.trim().slice(0, 30)}`, x: r.x, y: r.y, w: r.width, h: r.height });
  }
  return { boxes: out, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth };
}

for (const vp of VIEWPORTS) {
  test(`no two form labels or inputs overlap at ${vp.width}×${vp.height}`, async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize(vp);
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(server.url);
    // Measured as the user sees it: after the page has set the form up for this adapter.
    await waitInPage(page, () => window.__cskd?.ready === true, null, { timeout: 180_000, errors, what: 'the page' });
    const { boxes: b, scrollWidth, width } = await page.evaluate(boxes);
    await page.screenshot({ path: path.join(here, 'artifacts', `layout-${vp.width}.png`), fullPage: true });
    await page.close();
    assert.ok(b.length > 20, `only ${b.length} form elements measured`);
    const overlaps = [];
    for (let i = 0; i < b.length; i++) {
      for (let j = i + 1; j < b.length; j++) {
        const [p, q] = [b[i], b[j]];
        const dx = Math.min(p.x + p.w, q.x + q.w) - Math.max(p.x, q.x);
        const dy = Math.min(p.y + p.h, q.y + q.h) - Math.max(p.y, q.y);
        if (dx > 1 && dy > 1) overlaps.push(`${p.what} × ${q.what}`);
      }
    }
    assert.deepEqual(overlaps, [], `overlapping at ${vp.width}px`);
    assert.ok(scrollWidth <= width + 1, `the page is ${scrollWidth}px wide in a ${width}px window`);
  });
}
