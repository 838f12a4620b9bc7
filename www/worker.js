// Training worker (module worker). Owns the wasm module and the Trainers, so the page never blocks.
// Protocol (all messages are plain objects with a `type`):
//   page → worker: init | start {base, methods, source} | pause | resume | stop | call {id, op, args}
//   worker → page: init {webgpu, adapter, reason} | status {text} | created {runs} | progress {...}
//                  epoch {run, epoch, trainLoss, metrics} | views {run, epoch, pca, predictions}
//                  done {stopped} | error {message} | reply {id, ok, result | error}
import { pca2 } from './pca.js';

let cskd = null;          // the wasm-bindgen module namespace (./cskd.js)
let initPromise = null;
const runs = new Map();   // id → Run
let generation = 0;       // bumps on every start, so a stale loop ends
let paused = false;
let stopRequested = false;
let resumeWaiters = [];
let training = false;
let dataCache = null;     // { key, bytes, name }

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const errorText = (e) => (e && e.message) ? e.message : String(e);

// Every call into the wasm module goes through this one queue: a wasm-bindgen object must not be
// re-entered while one of its async methods is pending, and all Trainers share one GPU device, so
// nothing is gained by overlapping calls on different Trainers either.
let gpuQueue = Promise.resolve();
function exclusive(fn) {
  const p = gpuQueue.then(fn);
  gpuQueue = p.catch(() => {});
  return p;
}

class Run {
  constructor(id, trainer, epochs) {
    this.id = id;
    this.trainer = trainer;
    this.epochs = epochs;
    this.epochLosses = [];
    this.viewsAt = -1;     // progress (in epochs) at which views were last computed
    this.last = null;      // last step result
    this.info = null;      // describe() snapshot: epoch counters, steps per epoch, …
  }
  doneEpochs() { return this.info ? this.info.epoch : 0; }
  /** Runs fn(trainer) when no other call into the wasm module is pending. */
  lock(fn) {
    return exclusive(() => fn(this.trainer));
  }
  free() {
    return this.lock((t) => { try { t.free(); } catch { /* already freed */ } });
  }
}

async function ensureInit() {
  if (!initPromise) {
    initPromise = (async () => {
      cskd = await import('./cskd.js');
      await cskd.default();
    })();
  }
  return initPromise;
}

async function handleInit() {
  try {
    await ensureInit();
  } catch (e) {
    post({ type: 'init', webgpu: false, wasm: false, reason: `Could not load the WebAssembly module (cskd.js / cskd_bg.wasm): ${errorText(e)}` });
    return;
  }
  let webgpu = false;
  try { webgpu = cskd.webgpuAvailable(); } catch (e) { /* treated as unavailable */ }
  if (!webgpu) {
    post({ type: 'init', webgpu: false, wasm: true, reason: 'navigator.gpu is not defined in this browser (or in its workers).' });
    return;
  }
  try {
    const adapter = await cskd.adapterInfo();
    post({ type: 'init', webgpu: true, wasm: true, adapter: { ...adapter } });
  } catch (e) {
    post({ type: 'init', webgpu: false, wasm: true, reason: `No WebGPU adapter: ${errorText(e)}` });
  }
}

async function loadData(source) {
  const key = source.kind === 'url' ? `url:${source.url}` : `file:${source.file.name}:${source.file.size}:${source.file.lastModified}`;
  if (dataCache?.key === key) return dataCache;
  dataCache = null;
  let bytes, name;
  if (source.kind === 'url') {
    post({ type: 'status', text: `Downloading ${source.url}…` });
    const resp = await fetch(source.url);
    if (!resp.ok) throw new Error(`could not fetch ${source.url}: HTTP ${resp.status}`);
    bytes = new Uint8Array(await resp.arrayBuffer());
    name = source.name ?? source.url.split('/').pop();
  } else {
    post({ type: 'status', text: `Reading ${source.file.name}…` });
    bytes = new Uint8Array(await source.file.arrayBuffer());
    name = source.file.name;
  }
  dataCache = { key, bytes, name };
  return dataCache;
}

function cleanConfig(cfg) {
  const out = {};
  for (const [k, v] of Object.entries(cfg)) if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isNaN(v))) out[k] = v;
  return out;
}

async function createRun(id, base, data) {
  const config = cleanConfig({ ...base, method: id });
  post({ type: 'status', text: `Creating the ${id === 'ce' ? 'cross-entropy' : id === 'cskd' ? 'CS-KD' : id} trainer (${config.model ?? 'smallcnn'})…` });
  const [trainer, resolved] = await exclusive(async () => {
    const t = await cskd.Trainer.create(config, data.bytes, data.name);
    return [t, t.config()];
  });
  return new Run(id, trainer, resolved.epochs ?? config.epochs ?? 1);
}

function describe(run) {
  const t = run.trainer;
  return {
    id: run.id,
    config: t.config(),
    classes: Array.from(t.classes()),
    stepsPerEpoch: t.stepsPerEpoch(),
    totalSteps: t.totalSteps(),
    epoch: t.epoch(),
    stepInEpoch: t.stepInEpoch(),
    numTest: t.numTest(),
  };
}

async function freeAll() {
  const old = [...runs.values()];
  runs.clear();
  await Promise.all(old.map((r) => r.free()));
}

async function handleStart({ base, methods, source }) {
  const gen = ++generation;
  stopRequested = false;
  paused = false;
  wakeResumers();
  try {
    await ensureInit();
    await freeAll();
    const data = await loadData(source);
    for (const id of methods) {
      const run = await createRun(id, base, data);
      if (gen !== generation) { await run.free(); return; }
      runs.set(id, run);
    }
    const infos = [];
    for (const r of runs.values()) {
      r.info = await r.lock(() => describe(r));
      infos.push(r.info);
    }
    post({ type: 'created', runs: infos });
    await trainLoop(gen);
  } catch (e) {
    if (gen === generation) {
      training = false;
      post({ type: 'error', message: errorText(e) });
    }
  }
}

function wakeResumers() {
  const w = resumeWaiters;
  resumeWaiters = [];
  w.forEach((f) => f());
}

async function evaluateAndViews(run, epochLabel, { withMetrics = true } = {}) {
  const out = await run.lock(async (t) => {
    const metrics = withMetrics ? await t.evaluate() : null;
    const emb = await t.embeddings();
    const preds = await t.testPredictions();
    return { metrics, emb, preds };
  });
  const n = out.emb.labels.length;
  const pca = pca2(out.emb.data, n, out.emb.dim);
  const labels = Uint32Array.from(out.emb.labels);
  const probs = Float32Array.from(out.preds.probs);
  const predLabels = Uint32Array.from(out.preds.labels);
  post({
    type: 'views', run: run.id, epoch: epochLabel,
    pca: { coords: pca.coords, labels, variance: pca.variance, total: pca.total, dim: out.emb.dim },
    predictions: { classes: out.preds.classes, probs, labels: predLabels },
  }, [pca.coords.buffer, labels.buffer, probs.buffer, predLabels.buffer]);
  return out.metrics;
}

async function trainLoop(gen) {
  training = true;
  const list = [...runs.values()];
  const total = list.reduce((a, r) => a + r.info.totalSteps, 0);
  let done = list.reduce((a, r) => a + r.info.epoch * r.info.stepsPerEpoch + r.info.stepInEpoch, 0);
  let activeMs = 0;
  let lastTick = performance.now();
  let lastPost = 0;
  const progress = (force = false) => {
    const now = performance.now();
    activeMs += now - lastTick;
    lastTick = now;
    if (!force && now - lastPost < 100) return;
    lastPost = now;
    const per = {};
    for (const r of list) per[r.id] = r.last ? { ...r.last } : null;
    post({ type: 'progress', done, total, activeMs, runs: per });
  };
  post({ type: 'status', text: 'Training…' });
  progress(true);

  while (gen === generation && !stopRequested) {
    if (paused) {
      progress(true);
      post({ type: 'status', text: 'Paused.' });
      await new Promise((r) => resumeWaiters.push(r));
      lastTick = performance.now();
      if (gen !== generation) return;
      if (!stopRequested) post({ type: 'status', text: 'Training…' });
      continue;
    }
    const pending = list.filter((r) => r.doneEpochs() < r.epochs);
    if (!pending.length) break;
    // Interleave: one step of every unfinished run per round, so all runs progress together.
    for (const r of pending) {
      if (gen !== generation || paused || stopRequested) break;
      const { s, rolled, epoch, stepInEpoch } = await r.lock(async (t) => {
        const before = t.epoch();
        const s = await t.step();
        const epoch = t.epoch();
        return { s, rolled: epoch > before, epoch, stepInEpoch: t.stepInEpoch() };
      });
      if (gen !== generation) return;
      done++;
      r.last = { ...s, epoch, stepInEpoch };
      r.epochLosses.push(s.loss);
      r.info.epoch = epoch;
      r.info.stepInEpoch = stepInEpoch;
      progress(false);
      if (rolled) {
        progress(true);
        const trainLoss = mean(r.epochLosses);
        r.epochLosses = [];
        post({ type: 'status', text: `Evaluating ${r.id === 'ce' ? 'cross-entropy' : 'CS-KD'} after epoch ${epoch}…` });
        const metrics = await r.lock((t) => t.evaluate());
        post({ type: 'epoch', run: r.id, epoch, trainLoss, lastLoss: s.loss, metrics });
        await evaluateAndViews(r, epoch, { withMetrics: false });
        r.viewsAt = epoch;
        if (gen === generation && !stopRequested && !paused) post({ type: 'status', text: 'Training…' });
      }
    }
  }
  if (gen !== generation) return;
  progress(true);
  // Stopped mid-epoch: refresh the views (and metrics) for the partially trained state.
  for (const r of list) {
    const state = await r.lock((t) => ({ epoch: t.epoch(), step: t.stepInEpoch(), spe: t.stepsPerEpoch() }));
    const at = state.epoch + state.step / state.spe;
    if (at > r.viewsAt && at > 0) {
      post({ type: 'status', text: `Final evaluation of ${r.id}…` });
      const metrics = await evaluateAndViews(r, +at.toFixed(2));
      post({ type: 'final', run: r.id, epoch: +at.toFixed(2), metrics });
      r.viewsAt = at;
    }
  }
  training = false;
  post({ type: 'done', stopped: stopRequested });
}

function mean(xs) { return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN; }

// ---- request / reply operations --------------------------------------------------------------

const ops = {
  async testImages({ indices, run }) {
    const r = runs.get(run) ?? [...runs.values()][0];
    if (!r) throw new Error('no trained run yet');
    return r.lock((t) => indices.map((i) => t.testImage(i)));
  },
  async predict({ rgba, width, height }) {
    if (!runs.size) throw new Error('train (or load) a network first');
    const out = {};
    for (const r of runs.values()) out[r.id] = Float32Array.from(await r.lock((t) => t.predict(rgba, width, height)));
    return out;
  },
  async save({ run }) {
    const r = runs.get(run);
    if (!r) throw new Error(`no ${run} run to save`);
    const bytes = await r.lock((t) => t.saveCheckpoint());
    const info = await r.lock((t) => ({ epoch: t.epoch(), config: t.config() }));
    return { bytes, ...info };
  },
  async load({ run, bytes, base, source }) {
    await ensureInit();
    let r = runs.get(run);
    if (!r) {
      if (training) throw new Error('stop training before loading weights into a new run');
      const data = await loadData(source);
      r = await createRun(run, base, data);
      runs.set(run, r);
      post({ type: 'created', runs: [await r.lock(() => describe(r))], add: true });
    }
    await r.lock((t) => t.loadCheckpoint(bytes));
    post({ type: 'status', text: `Loaded weights into ${run}; evaluating…` });
    const info = await r.lock(() => describe(r));
    r.info = info;
    const metrics = await evaluateAndViews(r, info.epoch);
    r.viewsAt = info.epoch;
    post({ type: 'status', text: `Loaded weights into ${run}.` });
    return { info, metrics };
  },
};

self.onmessage = async (ev) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init': return handleInit();
    case 'start': return handleStart(msg);
    case 'pause': paused = true; return;
    case 'resume': paused = false; wakeResumers(); return;
    case 'stop': stopRequested = true; paused = false; wakeResumers(); return;
    case 'call': {
      try {
        const result = await ops[msg.op](msg.args ?? {});
        post({ type: 'reply', id: msg.id, ok: true, result });
      } catch (e) {
        post({ type: 'reply', id: msg.id, ok: false, error: errorText(e) });
      }
      return;
    }
    default:
      post({ type: 'error', message: `worker: unknown message ${msg.type}` });
  }
};
