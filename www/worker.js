// Training worker (module worker). Owns the wasm module and the Trainers, so the page never blocks.
// Protocol (all messages are plain objects with a `type`):
//   page → worker: init | start {base, methods, source} | resumeSaved {ids, file} | pause | resume | stop
//                  | call {id, op, args} | destroyDeviceForTesting
//   worker → page: init {webgpu, adapter, reason} | status {text} | created {runs} | progress {...}
//                  epoch {run, epoch, trainLoss, metrics} | views {run, epoch, pca, predictions}
//                  saved {run, epoch, stepInEpoch, reason, stored, error} | recovered {reason, runs}
//                  done {stopped} | error {message} | reply {id, ok, result | error}
// Every run is auto-saved (store.js) when it is created, after every epoch and on pause; a lost GPU
// device is replaced and every run resumes from its last save.
import { pca2 } from './pca.js';
import * as store from './store.js';

let cskd = null;          // the wasm-bindgen module namespace (./cskd.js)
let initPromise = null;
const runs = new Map();   // id → Run
let generation = 0;       // bumps on every start, so a stale loop ends
let paused = false;
let stopRequested = false;
let resumeWaiters = [];
let training = false;
let dataCache = null;     // { key, bytes, name, source, fingerprint }
const MAX_RECOVERIES = 3; // device losses in a row without a finished step before giving up

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
  constructor(id, trainer, epochs, createConfig, data) {
    this.id = id;
    this.trainer = trainer;
    this.epochs = epochs;
    this.createConfig = createConfig; // exactly what Trainer.create got (a resume needs the same)
    this.data = data;                 // the dataCache entry it trains on
    this.records = [];                // epoch messages posted so far (replayed after a reload)
    this.lastSave = null;             // { bytes, epoch, stepInEpoch, epochLosses, records }
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

const dataKey = (source) => (source.kind === 'url' ? `url:${source.url}` : `file:${source.file.name}:${source.file.size}:${source.file.lastModified}`);

/** SHA-256 of the data, so a resume can tell that the data set is still the same. */
async function fingerprint(bytes) {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function loadData(source) {
  const key = dataKey(source);
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
  const described = source.kind === 'url'
    ? { kind: 'url', url: source.url, name }
    : { kind: 'file', name, size: source.file.size, lastModified: source.file.lastModified, key };
  dataCache = { key, bytes, name, source: described, fingerprint: await fingerprint(bytes) };
  return dataCache;
}

/** The data a saved run trained on: the URL again, the stored copy of a local file, or the file the
 *  user has chosen now; its fingerprint must match the saved one. */
async function loadSavedData(meta, file) {
  const src = meta.source;
  let data;
  if (dataCache?.fingerprint === meta.fingerprint) return dataCache;
  if (src.kind === 'url') data = await loadData({ kind: 'url', url: src.url, name: src.name });
  else {
    const bytes = await store.getData(src.key).catch(() => null);
    if (bytes) {
      dataCache = { key: src.key, bytes, name: src.name, source: src, fingerprint: await fingerprint(bytes) };
      data = dataCache;
    } else if (file && file.name === src.name && file.size === src.size) {
      data = await loadData({ kind: 'file', file });
    } else {
      throw new Error(`the data file ${src.name} (${src.size} bytes) of the saved ${meta.id} run is not stored in this browser: choose it under Data (Local file), then resume`);
    }
  }
  if (data.fingerprint !== meta.fingerprint) {
    throw new Error(`the data ${src.name} changed since the ${meta.id} run was saved (SHA-256 ${data.fingerprint.slice(0, 12)}… instead of ${meta.fingerprint.slice(0, 12)}…)`);
  }
  return data;
}

function cleanConfig(cfg) {
  const out = {};
  for (const [k, v] of Object.entries(cfg)) if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isNaN(v))) out[k] = v;
  return out;
}

const runLabel = (id) => (id === 'ce' ? 'cross-entropy' : id === 'cskd' ? 'CS-KD' : id);

async function createRun(id, base, data) {
  return createRunWith(id, cleanConfig({ ...base, method: id }), data);
}

async function createRunWith(id, config, data) {
  post({ type: 'status', text: `Creating the ${runLabel(id)} trainer (${config.model ?? 'smallcnn'})…` });
  const [trainer, resolved] = await exclusive(async () => {
    const t = await cskd.Trainer.create(config, data.bytes, data.name);
    return [t, t.config()];
  });
  return new Run(id, trainer, resolved.epochs ?? config.epochs ?? 1, config, data);
}

/** Checkpoints the run (in memory, for a lost device) and writes it to the origin's storage. */
async function saveRun(r, reason, gen) {
  const { bytes, epoch, stepInEpoch } = await r.lock(async (t) => ({ bytes: await t.saveCheckpoint(), epoch: t.epoch(), stepInEpoch: t.stepInEpoch() }));
  if (gen !== generation) return;
  r.lastSave = { bytes, epoch, stepInEpoch, epochLosses: [...r.epochLosses], records: [...r.records] };
  const meta = {
    id: r.id, savedAt: Date.now(), reason, epoch, stepInEpoch, epochs: r.epochs,
    stepsPerEpoch: r.info?.stepsPerEpoch ?? null, createConfig: r.createConfig,
    source: r.data.source, fingerprint: r.data.fingerprint,
    epochLosses: r.lastSave.epochLosses, records: r.lastSave.records,
  };
  let error = null;
  try {
    await store.putRun(meta, bytes);
  } catch (e) {
    error = errorText(e);
  }
  post({ type: 'saved', run: r.id, epoch, stepInEpoch, reason, stored: !error, error });
}

/** A file picked from disk is stored with the runs, so a reload can resume without asking for it. */
async function storeDataFor(data) {
  if (data.source.kind !== 'file') return;
  try {
    await store.putData(data.key, data.bytes);
  } catch (e) {
    post({ type: 'status', text: `Could not keep ${data.name} in this browser's storage (${errorText(e)}); to resume after a reload, choose the file again.` });
  }
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
    // A new session replaces the saved runs.
    await store.clearAll().catch(() => {});
    await storeDataFor(data);
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
    for (const r of runs.values()) await saveRun(r, 'start', gen);
    await trainLoop(gen);
  } catch (e) {
    if (gen === generation) {
      training = false;
      post({ type: 'error', message: errorText(e) });
    }
  }
}

/** Rebuilds saved runs (after a reload) exactly where they were and trains on. */
async function handleResumeSaved({ ids, file }) {
  const gen = ++generation;
  stopRequested = false;
  paused = false;
  wakeResumers();
  try {
    await ensureInit();
    await freeAll();
    for (const id of ids) {
      const saved = await store.getRun(id);
      if (!saved) throw new Error(`there is no saved ${id} run any more`);
      const { meta, checkpoint } = saved;
      const data = await loadSavedData(meta, file);
      const run = await createRunWith(id, meta.createConfig, data);
      if (gen !== generation) { await run.free(); return; }
      runs.set(id, run);
      post({ type: 'status', text: `Resuming ${runLabel(id)} at epoch ${meta.epoch}, step ${meta.stepInEpoch}…` });
      await run.lock((t) => t.resume(checkpoint));
      run.epochLosses = [...meta.epochLosses];
      run.records = [...meta.records];
      run.lastSave = { bytes: checkpoint, epoch: meta.epoch, stepInEpoch: meta.stepInEpoch, epochLosses: [...meta.epochLosses], records: [...meta.records] };
    }
    const infos = [];
    for (const r of runs.values()) {
      r.info = await r.lock(() => describe(r));
      infos.push(r.info);
    }
    post({ type: 'created', runs: infos, resumed: true });
    for (const r of runs.values()) {
      for (const rec of r.records) post(rec);
      r.viewsAt = r.records.length ? r.records.at(-1).epoch - 1 : -1; // views are redrawn below
    }
    await trainLoop(gen);
  } catch (e) {
    if (gen === generation) {
      training = false;
      post({ type: 'error', message: `Could not resume: ${errorText(e)}` });
    }
  }
}

/** Whether an error means the GPU device is gone (GPUDevice.lost may resolve a moment later). */
async function isDeviceLoss(e) {
  if (/device.{0,20}lost|lost.{0,20}device|destroyed/i.test(errorText(e))) return true;
  for (let i = 0; i < 10; i++) {
    if (cskd.gpuLost()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cskd.gpuLost();
}

/** Replaces every run's trainer with one on a new device, resumed from the run's last save. */
async function recover(list, cause) {
  post({ type: 'status', text: `The GPU device was lost (${cause}). Opening a new device and resuming from the last saves…` });
  cskd.resetGpu(); // drop the dead device even if GPUDevice.lost has not resolved yet
  const resumed = [];
  for (const r of list) {
    await r.free();
    const fresh = await createRunWith(r.id, r.createConfig, r.data);
    if (r.lastSave) await fresh.lock((t) => t.resume(r.lastSave.bytes));
    r.trainer = fresh.trainer;
    r.epochLosses = r.lastSave ? [...r.lastSave.epochLosses] : [];
    r.records = r.lastSave ? [...r.lastSave.records] : [];
    r.info = await r.lock(() => describe(r));
    r.last = null;
    resumed.push({ id: r.id, epoch: r.info.epoch, stepInEpoch: r.info.stepInEpoch });
  }
  const where = resumed.map((x) => `${runLabel(x.id)} ${x.stepInEpoch ? `at step ${x.stepInEpoch} of epoch ${x.epoch + 1}`
    : x.epoch ? `after epoch ${x.epoch}` : 'from the start'}`).join('; ');
  post({ type: 'recovered', reason: cause, runs: resumed, text: `The GPU device was lost (${cause}); a new device was opened and training resumed from the last saves: ${where}.` });
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

  let losses = 0; // device losses since the last finished step
  const position = () => list.reduce((a, r) => a + r.info.epoch * r.info.stepsPerEpoch + r.info.stepInEpoch, 0);
  while (gen === generation && !stopRequested) {
    try {
      if (paused) {
        progress(true);
        // Save on pause: a closed or reloaded tab resumes from exactly here.
        for (const r of list) await saveRun(r, 'pause', gen);
        if (gen !== generation) return;
        if (paused) {
          post({ type: 'status', text: 'Paused (saved in this browser).' });
          await new Promise((r) => resumeWaiters.push(r));
        }
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
        losses = 0;
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
          post({ type: 'status', text: `Evaluating ${runLabel(r.id)} after epoch ${epoch}…` });
          const metrics = await r.lock((t) => t.evaluate());
          const record = { type: 'epoch', run: r.id, epoch, trainLoss, lastLoss: s.loss, metrics };
          r.records.push(record);
          post(record);
          await evaluateAndViews(r, epoch, { withMetrics: false });
          r.viewsAt = epoch;
          await saveRun(r, 'epoch', gen);
          if (gen === generation && !stopRequested && !paused) post({ type: 'status', text: 'Training…' });
        }
      }
    } catch (e) {
      if (gen !== generation) return;
      if (++losses > MAX_RECOVERIES || !(await isDeviceLoss(e))) throw e;
      await recover(list, errorText(e));
      if (gen !== generation) return;
      done = position();
      progress(true);
      if (!paused && !stopRequested) post({ type: 'status', text: 'Training…' });
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
    if (!training) await saveRun(r, 'load', generation); // a lost device or a reload keeps these weights
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
    case 'resumeSaved': return handleResumeSaved(msg);
    // The Playwright test destroys the device mid-step, as a driver reset would (not queued on purpose).
    case 'destroyDeviceForTesting': if (cskd) cskd.destroyDeviceForTesting(); return;
    case 'call': {
      try {
        let result;
        try {
          result = await ops[msg.op](msg.args ?? {});
        } catch (e) {
          // Idle with a lost device: rebuild the runs from their saves, then try once more.
          if (training || !runs.size || !cskd || !(await isDeviceLoss(e))) throw e;
          await recover([...runs.values()], errorText(e));
          result = await ops[msg.op](msg.args ?? {});
        }
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
