// Copies the charting library (uPlot, MIT) from node_modules into www/vendor/, where the demo page
// loads it from (the page must work offline). Run after changing the pinned version in package.json:
//   npm ci && npm run vendor
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'node_modules', 'uplot');
const dst = path.join(here, '..', '..', 'www', 'vendor');
const { version } = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8'));
fs.mkdirSync(dst, { recursive: true });
for (const [from, to] of [['dist/uPlot.iife.min.js', 'uPlot.iife.min.js'], ['dist/uPlot.min.css', 'uPlot.min.css'], ['LICENSE', 'uPlot.LICENSE']]) {
  fs.copyFileSync(path.join(src, from), path.join(dst, to));
}
fs.writeFileSync(path.join(dst, 'README.md'),
  `Vendored third-party files (copied by tests/browser/vendor.mjs; do not edit by hand).\n\n` +
  `- uPlot ${version} (MIT, https://github.com/leeoniya/uPlot): uPlot.iife.min.js, uPlot.min.css, uPlot.LICENSE\n`);
console.log(`vendored uPlot ${version} into ${dst}`);
