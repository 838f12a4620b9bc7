// The worker helper (`cskd/worker`) in a plain page, straight from the installed tarball: a Trainer
// in a Web Worker behind promises. Checks that the Trainer's errors reach the caller as Errors with
// the exact messages the npm README lists, that the worker keeps serving calls after an error, that
// results (typed arrays, checkpoints) come back intact, and that terminate() rejects what is pending.
// Run: node --test npm-worker.test.mjs   (env: CSKD_TGZ, NPM_WORKER_TIMEOUT_MS)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { syntheticCifar10 } from './lib/cifar.mjs';
import { REPO, installPackage } from './lib/package.mjs';

const TIMEOUT_MS = Number(process.env.NPM_WORKER_TIMEOUT_MS ?? 10 * 60 * 1000);

let server;
let dir;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cskd-npm-worker-'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"private": true}\n');
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>cskd/worker</title><link rel="icon" href="data:,">');
  fs.writeFileSync(path.join(dir, 'tiny.tar.gz'), syntheticCifar10({ perClass: 1, testPerClass: 1, seed: 5 }));
  installPackage(dir);
  // The wasm module at another place, for options.wasm (a URL relative to the page).
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.copyFileSync(path.join(dir, 'node_modules', 'cskd', 'cskd_bg.wasm'), path.join(dir, 'assets', 'model.wasm'));
  server = await serve({ root: dir });
});
after(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('createWorkerTrainer: errors reject with the Trainer\'s message, results come back, terminate rejects', { timeout: TIMEOUT_MS }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    const r = await page.evaluate(async () => {
      const { createWorkerTrainer, WorkerTrainer } = await import('/node_modules/cskd/worker.js');
      const data = new Uint8Array(await (await fetch('/tiny.tar.gz')).arrayBuffer());
      const rejection = async (p) => {
        try { await p; return { resolved: true }; } catch (e) { return { isError: e instanceof Error, message: e.message }; }
      };
      const out = {};
      out.badLr = await rejection(createWorkerTrainer({ lr: -1 }, data, 'tiny.tar.gz'));
      out.unknownField = await rejection(createWorkerTrainer({ learningRate: 0.1 }, data, 'tiny.tar.gz'));
      out.empty = await rejection(createWorkerTrainer({}, new Uint8Array(0), 'empty.bin'));
      out.missingWorker = await rejection(createWorkerTrainer({}, data, 'tiny.tar.gz',
        { worker: new Worker('/no-such-worker.js', { type: 'module' }) }));
      out.missingWasm = await rejection(createWorkerTrainer({}, data, 'tiny.tar.gz', { wasm: 'assets/missing.wasm' }));

      // 10 training images, batch 10, 1 epoch: exactly one step.
      const config = { width: 4, batch: 10, epochs: 1, method: 'cskd', augment: false, seed: 2 };
      const t = await createWorkerTrainer(config, new Blob([data]), 'tiny.tar.gz', { wasm: 'assets/model.wasm' });
      out.isWorkerTrainer = t instanceof WorkerTrainer;
      out.totalSteps = await t.totalSteps();
      out.badSteps = await rejection(t.steps(0));     // pipelined steps: a bad count, named
      out.step = await t.step();
      out.finished = await rejection(t.step());
      out.epochAfter = await t.epoch();                 // the worker still answers after an error
      out.metricsCount = (await t.evaluate()).count;
      out.badImage = await rejection(t.testImage(99));
      const image = await t.testImage(0);
      out.image = [image.constructor.name, image.length];
      const probs = await t.predict(image, 32, 32);
      out.probs = [probs.constructor.name, probs.length, probs.reduce((a, b) => a + b, 0)];
      const emb = await t.embeddings();
      out.embeddings = [emb.data.constructor.name, emb.data.length / emb.dim, emb.labels.constructor.name];
      const ckpt = await t.saveCheckpoint();
      out.checkpoint = [ckpt.constructor.name, String.fromCharCode(...ckpt.subarray(8, 9))];
      await t.loadCheckpoint(ckpt);
      out.badCheckpoint = await rejection(t.loadCheckpoint(new Uint8Array([1, 2, 3])));
      out.unknownMethod = await rejection(t.call('noSuchMethod'));
      // Knowledge distillation from a teacher checkpoint handed over in the options.
      const student = await createWorkerTrainer({ ...config, kdLambda: 1 }, data, 'tiny.tar.gz', { teacher: ckpt });
      out.kdLoss = (await student.step()).loss;
      student.terminate();
      const noTeacher = await createWorkerTrainer({ ...config, kdLambda: 1 }, data, 'tiny.tar.gz');
      out.noTeacher = await rejection(noTeacher.step());
      noTeacher.terminate();
      const pending = t.evaluate();
      t.terminate();
      out.pending = await rejection(pending);
      out.after = await rejection(t.epoch());
      out.terminated = t.terminated;
      return out;
    });
    console.log(JSON.stringify(r));
    const rejected = (x, message) => {
      assert.equal(x.isError, true, `rejects with an Error: ${JSON.stringify(x)}`);
      if (message instanceof RegExp) assert.match(x.message, message);
      else assert.equal(x.message, message);
    };
    // The exact messages checked here are the ones the npm README lists.
    const readme = fs.readFileSync(path.join(REPO, 'npm', 'README.md'), 'utf8');
    for (const x of [r.badLr, r.empty, r.missingWorker, r.finished, r.badImage, r.badCheckpoint, r.unknownMethod, r.noTeacher, r.pending]) {
      assert.ok(readme.includes(`\`${x.message}\``), `npm/README.md lists \`${x.message}\``);
    }
    rejected(r.badLr, 'invalid configuration: lr = -1 is invalid: expected a finite number > 0');
    rejected(r.unknownField, /^invalid configuration: unknown field `learningRate`/);
    rejected(r.empty, 'empty.bin: file is empty');
    rejected(r.missingWorker, /^cskd worker failed: /);
    rejected(r.missingWasm, /^failed to fetch Wasm: 404 Not Found fetching '.*\/assets\/missing.wasm'$/);
    assert.equal(r.isWorkerTrainer, true);
    assert.equal(r.totalSteps, 1);
    assert.equal(r.step.epochDone, true);
    assert.ok(Number.isFinite(r.step.loss) && r.step.loss > 0, `finite loss ${r.step.loss}`);
    rejected(r.badSteps, 'steps(n): n must be an integer from 1 to 65536, not 0');
    rejected(r.finished, 'training is finished: all epochs have run');
    assert.equal(r.epochAfter, 1);
    assert.equal(r.metricsCount, 10);
    rejected(r.badImage, 'test image 99 out of range (there are 10)');
    assert.deepEqual(r.image, ['Uint8Array', 32 * 32 * 4]);
    assert.equal(r.probs[0], 'Float32Array');
    assert.equal(r.probs[1], 10);
    assert.ok(Math.abs(r.probs[2] - 1) < 1e-4, `probabilities sum to 1: ${r.probs[2]}`);
    assert.deepEqual(r.embeddings, ['Float32Array', 10, 'Uint32Array']);
    assert.deepEqual(r.checkpoint, ['Uint8Array', '{'], 'a safetensors file (8-byte length, then the JSON header)');
    rejected(r.badCheckpoint, /^checkpoint: /);
    rejected(r.unknownMethod, 'Trainer has no method noSuchMethod');
    assert.ok(Number.isFinite(r.kdLoss) && r.kdLoss > 0, `a KD step from the teacher: ${r.kdLoss}`);
    rejected(r.noTeacher, 'invalid configuration: kdLambda > 0 needs a teacher checkpoint (CLI --teacher, JS teacherBytes)');
    rejected(r.pending, 'the cskd worker trainer was terminated');
    rejected(r.after, 'the cskd worker trainer was terminated');
    assert.equal(r.terminated, true);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

// safetensors: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, data. Rewrites a
// cskd checkpoint as `safetensors.torch.save_file(model.state_dict())` would: no metadata, no momentum.
function plainStateDict(bytes, keep, extra = {}) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const body = bytes.subarray(8 + n);
  const out = {}; const parts = []; let at = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || !keep(name)) continue;
    const data = body.subarray(t.data_offsets[0], t.data_offsets[1]);
    out[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + data.length] };
    parts.push(data); at += data.length;
  }
  for (const [name, shape] of Object.entries(extra)) {
    const data = new Uint8Array(4 * shape.reduce((a, b) => a * b, 1));
    out[name] = { dtype: 'F32', shape, data_offsets: [at, at + data.length] };
    parts.push(data); at += data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(out));
  const file = new Uint8Array(8 + json.length + at);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  let o = 8 + json.length;
  for (const p of parts) { file.set(p, o); o += p.length; }
  return file;
}

test('loadCheckpoint through the worker takes a plain PyTorch state_dict and lists mismatches', { timeout: TIMEOUT_MS }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    // The rewrite runs in the page (as an app would), from this file's source.
    await page.addScriptTag({ content: `window.plainStateDict = ${plainStateDict.toString()};` });
    const r = await page.evaluate(async () => {
      const { createWorkerTrainer } = await import('/node_modules/cskd/worker.js');
      const data = new Uint8Array(await (await fetch('/tiny.tar.gz')).arrayBuffer());
      const t = await createWorkerTrainer({ width: 4, batch: 10, epochs: 1, augment: false, seed: 2 }, data, 'tiny.tar.gz');
      try {
        await t.step();
        const ckpt = await t.saveCheckpoint();
        const before = (await t.evaluate()).nll;
        await t.loadCheckpoint(window.plainStateDict(ckpt, (n) => !n.startsWith('_momentum.')));
        const after = (await t.evaluate()).nll;
        let dropped = null;
        const mismatch = await t.loadCheckpoint(window.plainStateDict(ckpt, (n) => {
          if (n.startsWith('_momentum.')) return false;
          if (!dropped && n.endsWith('.weight')) { dropped = n; return false; }
          return true;
        }, { 'extra.weight': [1] })).then(() => 'resolved', (e) => e.message);
        return { before, after, dropped, mismatch };
      } finally {
        t.terminate();
      }
    });
    console.log(JSON.stringify(r));
    assert.ok(Math.abs(r.before - r.after) < 1e-6, `the same weights from a plain state_dict give the same NLL: ${r.before} vs ${r.after}`);
    const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(r.mismatch, new RegExp(`^checkpoint: the tensors do not match smallcnn \\(width 4, 10 classes\\) — missing \\(1\\): ${esc(r.dropped)} \\[[0-9, ]+\\]; extra \\(1\\): extra\\.weight$`));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
