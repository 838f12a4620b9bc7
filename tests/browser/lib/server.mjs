// A tiny static file server for the browser tests (no dependencies).
// serve({ root, mounts }) -> { url, close() }; `mounts` maps URL prefixes to extra directories,
// e.g. { '/data/': '/abs/dir' }. Listens on 127.0.0.1 (a secure context for WebGPU) on a free port.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  // Served as opaque bytes: no Content-Encoding, so the browser hands the page the gzip itself.
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

function resolveFile(roots, urlPath) {
  let decoded;
  try { decoded = decodeURIComponent(urlPath); } catch { return null; }
  for (const [prefix, dir] of roots) {
    if (!decoded.startsWith(prefix)) continue;
    const rel = decoded.slice(prefix.length);
    const file = path.resolve(dir, '.' + path.posix.normalize('/' + rel));
    if (file !== dir && !file.startsWith(dir + path.sep)) return null; // no escaping the root
    let stat;
    try { stat = fs.statSync(file); } catch { continue; }
    if (stat.isDirectory()) {
      const index = path.join(file, 'index.html');
      if (fs.existsSync(index)) return index;
      continue;
    }
    return file;
  }
  return null;
}

export function serve({ root, mounts = {} }) {
  // Longest prefix first so that mounts win over the root.
  const roots = [...Object.entries(mounts), ['/', root]]
    .map(([p, d]) => [p, path.resolve(d)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer((req, res) => {
    const urlPath = new URL(req.url, 'http://127.0.0.1').pathname;
    const file = resolveFile(roots, urlPath);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(file ? 405 : 404, { 'content-type': 'text/plain' });
      res.end(file ? 'method not allowed' : `not found: ${urlPath}`);
      return;
    }
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const size = fs.statSync(file).size;
    res.writeHead(200, { 'content-type': type, 'content-length': size, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/`,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

// `node lib/server.mjs DIR [PORT]` serves DIR for manual checks.
if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? '.';
  const s = await serve({ root: dir });
  console.log(`serving ${path.resolve(dir)} at ${s.url}`);
}
