// Checks the shared-memory kernel family in headless Chromium (Dawn/Tint on SwiftShader), straight
// from the WGSL files through raw WebGPU (no wasm build): every pipeline variant the Rust side can
// ask for compiles (Tint's uniformity analysis is stricter than naga's), and a small conv forward
// (each tile shape) and matmul (each tile shape) match a CPU reference. Outside the test suite:
//   node tests/browser/shared-probe.mjs
// Exits non-zero on any failure. The dispatch plans mirror src/ops/conv2d/shared.rs and
// src/ops/linear.rs: keep them in step.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const read = (f) => fs.readFileSync(path.join(root, 'shaders', f), 'utf8');
const sources = { conv: read('conv2d_shared.wgsl'), matmul: read('matmul_shared.wgsl') };

const server = await serve({ root: here });
const { context, close } = await launch();
let failed = false;
try {
  const page = await context.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(`${server.url}lib/`);
  const out = await page.evaluate(probe, sources);
  for (const line of out) {
    console.log(line);
    if (line.startsWith('FAIL')) failed = true;
  }
} finally {
  await close();
  await server.close?.();
}
process.exit(failed ? 1 : 0);

// Runs in the page.
async function probe(src) {
  const out = [];
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter.requestDevice();
  device.pushErrorScope('validation');
  out.push(`adapter: ${adapter.info?.description || adapter.info?.vendor || '?'}`);
  const U = GPUBufferUsage;
  const upload = (a, usage = U.STORAGE) => {
    const b = device.createBuffer({ size: Math.max(16, a.byteLength), usage: usage | U.COPY_DST | U.COPY_SRC });
    device.queue.writeBuffer(b, 0, a);
    return b;
  };
  const rand = (n, seed) => Float32Array.from({ length: n }, (_, i) => (((i + seed) * 2654435761) % 1000) / 500 - 1);
  const modules = { conv: device.createShaderModule({ code: src.conv }), matmul: device.createShaderModule({ code: src.matmul }) };
  for (const [name, m] of Object.entries(modules)) {
    const errs = (await m.getCompilationInfo()).messages.filter((x) => x.type === 'error');
    if (errs.length) out.push(`FAIL ${name}: ${errs.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`);
  }
  const pipeline = async (mod, entry, constants) => {
    try {
      return await device.createComputePipelineAsync({ layout: 'auto', compute: { module: modules[mod], entryPoint: entry, constants } });
    } catch (e) {
      out.push(`FAIL ${mod} ${JSON.stringify(constants)}: ${e.message}`);
      return null;
    }
  };
  // Every variant compiles.
  let n = 0;
  for (const BN of [32, 64, 128]) {
    for (const MODE of [0, 1, 2]) for (const KS of [1, 3]) for (const STRIDE of [1, 2]) n += !!(await pipeline('conv', 'gemm', { MODE, KS, STRIDE, BN }));
    for (const AKF of [0, 1]) for (const BKF of [0, 1]) n += !!(await pipeline('matmul', 'matmul', { AKF, BKF, BN }));
  }
  out.push(`${n} of 48 pipelines built`);

  const run = async (pipe, params, bufs, grid, outBuf, len) => {
    const entries = [{ binding: 0, resource: { buffer: upload(params, U.UNIFORM) } }, ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b } }))];
    const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
    const rb = device.createBuffer({ size: len * 4, usage: U.MAP_READ | U.COPY_DST });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(...grid);
    pass.end();
    enc.copyBufferToBuffer(outBuf, 0, rb, 0, len * 4);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(GPUMapMode.READ);
    return new Float32Array(rb.getMappedRange().slice(0));
  };
  const check = (what, got, want) => {
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-4 + 1e-4 * Math.abs(want[i])));
    out.push(`${worst <= 1 ? 'ok  ' : 'FAIL'} ${what} (worst error / tolerance ${worst.toFixed(3)})`);
  };
  const tile = (m, nn) => (nn <= 32 && m > 32 ? [128, 32] : m <= 32 && nn > 32 ? [32, 128] : [64, 64]);

  // Conv forward (MODE 0), 3×3 stride 1 pad 1, K = 5 (128×32 tiles) and K = 70 (64×64 tiles).
  for (const k of [5, 70]) {
    const s = { n: 2, c: 3, h: 7, w: 9, k, pad: 1 };
    s.oh = s.h; s.ow = s.w;
    const x = rand(s.n * s.c * s.h * s.w, 1);
    const w = rand(s.k * s.c * 9, 2);
    const want = new Float32Array(s.n * s.k * s.oh * s.ow);
    for (let b = 0; b < s.n; b++) for (let o = 0; o < s.k; o++) for (let oy = 0; oy < s.oh; oy++) for (let ox = 0; ox < s.ow; ox++) {
      let acc = 0;
      for (let c = 0; c < s.c; c++) for (let r = 0; r < 3; r++) for (let t = 0; t < 3; t++) {
        const iy = oy + r - s.pad, ix = ox + t - s.pad;
        if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) acc += x[((b * s.c + c) * s.h + iy) * s.w + ix] * w[((o * s.c + c) * 3 + r) * 3 + t];
      }
      want[((b * s.k + o) * s.oh + oy) * s.ow + ox] = acc;
    }
    const m = s.n * s.oh * s.ow;
    const [bm, bn] = tile(m, s.k);
    const pipe = await pipeline('conv', 'gemm', { MODE: 0, KS: 3, STRIDE: 1, BN: bn });
    const y = upload(new Float32Array(want.length));
    const params = new Uint32Array([s.n, s.c, s.h, s.w, s.k, s.oh, s.ow, s.pad, 0, 0, 0, 0]);
    if (pipe) check(`conv forward k${k} (${bm}×${bn} tiles)`, await run(pipe, params, [upload(x), upload(w), y], [Math.ceil(s.k / bn), Math.ceil(m / bm), 1], y, want.length), want);
  }
  // Matmul C = A·B + bias, A and B row-major, one case per tile shape.
  for (const [m, k, nn] of [[33, 65, 17], [70, 20, 66], [10, 37, 90]]) {
    const a = rand(m * k, 3), b = rand(k * nn, 4), bias = rand(nn, 5);
    const want = new Float32Array(m * nn);
    for (let i = 0; i < m; i++) for (let j = 0; j < nn; j++) {
      let acc = bias[j];
      for (let t = 0; t < k; t++) acc += a[i * k + t] * b[t * nn + j];
      want[i * nn + j] = acc;
    }
    const [bm, bn] = tile(m, nn);
    const pipe = await pipeline('matmul', 'matmul', { AKF: 1, BKF: 0, BN: bn });
    const c = upload(new Float32Array(m * nn));
    const params = new Uint32Array([m, nn, k, 1, k, 1, nn, 1]);
    if (pipe) check(`matmul ${m}×${k}×${nn} (${bm}×${bn} tiles)`, await run(pipe, params, [upload(a), upload(b), upload(bias), c], [Math.ceil(nn / bn), Math.ceil(m / bm), 1], c, want.length), want);
  }
  const err = await device.popErrorScope();
  if (err) out.push(`FAIL device error: ${err.message}`);
  return out;
}
