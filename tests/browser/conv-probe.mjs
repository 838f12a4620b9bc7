// Times the compact family's convolution kernels in headless Chromium (WebGPU on SwiftShader) on
// W1's SmallCNN shapes, straight from the WGSL files through raw WebGPU (no wasm build needed), so
// two versions of a shader can be alternated in one browser session. Outside the test suite:
//   node tests/browser/conv-probe.mjs [--batch 16] [--reps 3] [--only forward,backward_input]
//        [A.wgsl [B.wgsl ...]]        (default: shaders/conv2d_generic.wgsl)
// A file given as GIT:REV:PATH is read with `git show REV:PATH` (e.g. GIT:HEAD:shaders/conv2d_generic.wgsl).
// For each file and kernel it prints the pipeline compile time (first dispatch included: SwiftShader
// compiles lazily) and the fastest of --reps dispatches, the W1 step's share (anchors and partners forward,
// input-grad for convs 2–5, weight-grad for all five) and GFLOP/s. The dispatch plan of each entry
// point mirrors src/ops/conv2d/generic.rs: keep them in step.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const batch = Number(opt('batch', 16));
const reps = Number(opt('reps', 3));
const only = opt('only', '');
const files = args.length ? args : ['shaders/conv2d_generic.wgsl'];
const read = (f) => {
  if (f.startsWith('GIT:')) {
    const [, rev, p] = f.split(':');
    return execFileSync('git', ['-C', root, 'show', `${rev}:${p}`], { encoding: 'utf8' });
  }
  return fs.readFileSync(path.resolve(root, f), 'utf8');
};
// A shader may set its tile with `const FWD_COLS = 8u;` (columns per thread of the forward, default 4).
const tile = (src, name, dflt) => Number(src.match(new RegExp(`const ${name} = (\\d+)u`))?.[1] ?? dflt);
const generic = read('shaders/conv2d_generic.wgsl'); // its backward_weight_reduce serves compact3
const variants = files.map((f) => {
  const source = read(f);
  // conv2d_compact3.wgsl (its input gradient flips the weights and runs the forward).
  const compact3 = /fn flip_weights/.test(source);
  // Its forward entry points are forward<N> (N columns per thread): the widest N ≤ the output width.
  const widths = [...source.matchAll(/fn forward(\d+)\(/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return { name: f, source, compact3, widths, fwdCols: tile(source, compact3 ? 'COLS' : 'FWD_COLS', 4) };
});

// SmallCNN's convolutions (docs/BENCHMARKS.md W1): in channels, side, out channels; all 3×3, stride 1, pad 1.
const CONVS = [[3, 32, 32], [32, 32, 32], [32, 16, 64], [64, 16, 64], [64, 8, 128]];

const server = await serve({ root: here });
const { context, close } = await launch();
try {
  const page = await context.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(`${server.url}lib/`);
  const out = await page.evaluate(probe, { genericSource: generic, variants, batch, reps, convs: CONVS, only: only ? only.split(',') : [] });
  console.log(JSON.stringify(out, null, 1));
} finally {
  await close();
  await server.close?.();
}

// Runs in the page.
async function probe({ genericSource, variants, batch, reps, convs, only }) {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
  const info = adapter.info ? `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}` : '?';
  const U = GPUBufferUsage;
  const buf = (n) => {
    const b = device.createBuffer({ size: Math.max(16, n * 4), usage: U.STORAGE | U.COPY_DST | U.COPY_SRC });
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
    device.queue.writeBuffer(b, 0, a);
    return b;
  };
  const cdiv = (a, b) => Math.ceil(a / b);
  // The dispatch plans (entry, grid, params, bindings) of src/ops/conv2d/generic.rs.
  function plans(s, v) {
    const P = (rps = 0, splits = 0) => new Uint32Array([s.n, s.c, s.h, s.w, s.k, s.oh, s.ow, s.pad, rps, splits, 0, 0]);
    const outputs = cdiv(s.k, 4) * s.c;
    const rows = s.n * s.oh;
    let splits = Math.min(Math.max(cdiv(16384, outputs), 1), rows);
    const rps = cdiv(rows, splits);
    splits = cdiv(rows, rps);
    const K = { KS: 3, STRIDE: 1 };
    const reduce = { entry: 'backward_weight_reduce', mod: 'generic', consts: K, grid: [cdiv(s.k * s.c * 9, 256), 1, 1], params: P(rps, splits), bind: ['partial', 'dw'] };
    if (v.compact3) {
      const fwd = (d, bind) => {
        const cols = v.widths.filter((c) => c <= d.ow).pop() ?? v.widths[0];
        const P2 = new Uint32Array([d.n, d.c, d.h, d.w, d.k, d.oh, d.ow, d.pad, 0, 0, 0, 0]);
        return { entry: `forward${cols}`, consts: {}, grid: [cdiv(cdiv(d.ow, cols) * d.oh, 16), cdiv(d.k, 16), d.n], params: P2, bind };
      };
      // The input gradient: flip the weights, then the forward of the dual convolution over dy.
      const dual = { n: s.n, c: s.k, h: s.oh, w: s.ow, k: s.c, oh: s.h, ow: s.w, pad: 2 - s.pad };
      return {
        forward: [fwd(s, ['x', 'w', 'y'])],
        backward_input: [
          { entry: 'flip_weights', consts: {}, grid: [cdiv(s.k * s.c * 9, 64), 1, 1], params: P(), bind: ['w', 'wf'] },
          fwd(dual, ['dy', 'wf', 'dx']),
        ],
        backward_weight: [
          { entry: 'backward_weight_partial', consts: {}, grid: [cdiv(outputs, 64), splits, 1], params: P(rps, splits), bind: ['dy', 'x', 'partial'] },
          reduce,
        ],
        splits,
      };
    }
    return {
      forward: [{ entry: 'forward', consts: K, grid: [cdiv(cdiv(s.ow, v.fwdCols) * s.oh, 16), cdiv(s.k, 16), s.n], params: P(), bind: ['x', 'w', 'y'] }],
      backward_input: [{ entry: 'backward_input', consts: K, grid: [cdiv(cdiv(s.w, 4) * s.h, 16), cdiv(s.c, 16), s.n], params: P(), bind: ['dy', 'w', 'dx'] }],
      backward_weight: [
        { entry: 'backward_weight_partial', consts: K, grid: [cdiv(outputs, 64), splits, 1], params: P(rps, splits), bind: ['dy', 'x', 'partial'] },
        reduce,
      ],
      splits,
    };
  }
  const shapes = convs.map(([c, side, k]) => ({ n: batch, c, h: side, w: side, k, oh: side, ow: side, pad: 1 }));
  const bufs = shapes.map((s) => {
    const { splits } = plans(s, variants[0]);
    return {
      x: buf(s.n * s.c * s.h * s.w), w: buf(s.k * s.c * 9), wf: buf(s.k * s.c * 9), y: buf(s.n * s.k * s.oh * s.ow),
      dy: buf(s.n * s.k * s.oh * s.ow), dx: buf(s.n * s.c * s.h * s.w), dw: buf(s.k * s.c * 9),
      partial: buf(splits * s.k * s.c * 9),
    };
  });
  const modules = variants.map((v) => device.createShaderModule({ code: v.source }));
  const genericModule = device.createShaderModule({ code: genericSource });
  for (const [i, m] of modules.entries()) {
    const ci = await m.getCompilationInfo();
    const errs = ci.messages.filter((x) => x.type === 'error');
    if (errs.length) throw new Error(`${variants[i].name}: ${errs.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`);
  }
  const pipes = new Map();
  async function pipeline(vi, st) {
    const mod = st.mod === 'generic' ? genericModule : modules[vi];
    const key = `${st.mod === 'generic' ? 'g' : vi}/${st.entry}/${JSON.stringify(st.consts)}`;
    if (!pipes.has(key)) {
      const t = performance.now();
      const p = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: mod, entryPoint: st.entry, constants: st.consts } });
      pipes.set(key, { p, ms: performance.now() - t });
    }
    return pipes.get(key);
  }
  async function run(vi, si, steps, count) {
    const s = shapes[si];
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let r = 0; r < count; r++) {
      for (const st of steps) {
        const { p } = await pipeline(vi, st);
        const ub = device.createBuffer({ size: 48, usage: U.UNIFORM | U.COPY_DST });
        device.queue.writeBuffer(ub, 0, st.params);
        const entries = [{ binding: 0, resource: { buffer: ub } }, ...st.bind.map((b, j) => ({ binding: j + 1, resource: { buffer: bufs[si][b] } }))];
        pass.setPipeline(p);
        pass.setBindGroup(0, device.createBindGroup({ layout: p.getBindGroupLayout(0), entries }));
        pass.dispatchWorkgroups(...st.grid);
      }
    }
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  }
  const kinds = ['forward', 'backward_input', 'backward_weight'].filter((k) => !only.length || only.includes(k));
  // How often W1 runs each kind per conv (forward: anchors and partners; no input-grad for conv 1).
  const perStep = (kind, si) => (kind === 'forward' ? 2 : kind === 'backward_input' ? (si === 0 ? 0 : 1) : 1);
  // Kernel by kernel, the variants alternate (A B A B …) `reps` times; the fastest run counts (on a
  // shared machine the minimum is the least disturbed). The first run of each kind includes the
  // pipeline build and SwiftShader's lazy JIT: its excess over the fastest is the compile time.
  const res = Object.fromEntries(variants.map((v) => [v.name, { compile_ms: {}, ms: {}, step_ms: 0 }]));
  device.pushErrorScope('validation');
  for (const kind of kinds) {
    for (const [si, s] of shapes.entries()) {
      if (!perStep(kind, si)) continue;
      const key = `${kind}#${si + 1}`;
      const best = variants.map(() => Infinity);
      const first = variants.map(() => null);
      for (let rep = 0; rep < reps; rep++) {
        for (const [vi, v] of variants.entries()) {
          const t = performance.now();
          await run(vi, si, plans(s, v)[kind], 1);
          const ms = performance.now() - t;
          if (!(kind in res[v.name].compile_ms) && first[vi] === null) first[vi] = ms;
          best[vi] = Math.min(best[vi], ms);
        }
      }
      const flop = 2 * s.n * s.k * s.oh * s.ow * s.c * 9;
      for (const [vi, v] of variants.entries()) {
        const r = res[v.name];
        if (first[vi] !== null) r.compile_ms[kind] = Math.round(first[vi] - best[vi]);
        r.ms[key] = `${best[vi].toFixed(0)} ms ${(flop / best[vi] / 1e6).toFixed(2)} GF/s`;
        r.step_ms += perStep(kind, si) * best[vi];
      }
      console.log(`${key}: ${variants.map((v, vi) => `${best[vi].toFixed(0)} ms`).join(' | ')}`);
    }
  }
  for (const v of variants) res[v.name].step_ms = Math.round(res[v.name].step_ms);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  return { adapter: info, batch, reps, results: res };
}
