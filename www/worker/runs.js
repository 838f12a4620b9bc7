// The worker's runs: the wasm module, the one queue every GPU call goes through, the data a run
// trains on, and creating / saving runs (../shared/store.js keeps them across reloads).
import * as store from '../shared/store.js';
import { FROM_WORKER } from '../shared/protocol.js';

/** Worker-wide state shared by the scheduler and the request handlers. */
export const ctx = {
  cskd: null,          // the wasm-bindgen module namespace (../cskd.js: trunk writes it at dist/'s root)
  base: null,          // the page's URL (INIT): relative data URLs are resolved against it
  runs: new Map(),     // id → Run
  generation: 0,       // bumps on every start, so a stale loop ends
  paused: false,
  stopRequested: false,
  training: false,
  resumeWaiters: [],
};

export const post = (msg, transfer = []) => self.postMessage(msg, transfer);
export const errorText = (e) => (e && e.message) ? e.message : String(e);
export const status = (text) => post({ type: FROM_WORKER.STATUS, text });

// Every call into the wasm module goes through this one queue: a wasm-bindgen object must not be
// re-entered while one of its async methods is pending, and all Trainers share one GPU device, so
// nothing is gained by overlapping calls on different Trainers either.
let gpuQueue = Promise.resolve();
export function exclusive(fn) {
  const p = gpuQueue.then(fn);
  gpuQueue = p.catch(() => {});
  return p;
}

export class Run {
  constructor(id, trainer, epochs, createConfig, data, teacher) {
    this.id = id;
    this.trainer = trainer;
    this.epochs = epochs;
    this.createConfig = createConfig; // exactly what Trainer.create got (a resume needs the same)
    this.data = data;                 // the dataCache entry it trains on
    this.teacher = teacher;           // checkpoint bytes of the KD teacher, or null
    this.records = [];                // epoch messages posted so far (replayed after a reload)
    this.lastSave = null;             // { bytes, epoch, stepInEpoch, records }
    this.stepPoints = [];             // step losses not yet posted: [[epochs, loss]]
    this.viewsAt = -1;                // progress (in epochs) at which views were last computed
    this.last = null;                 // last step result
    this.stepsPerCall = 1;            // Trainer.steps(n) per call: sized to the UI's cadence (scheduler.js)
    this.info = null;                 // describe() snapshot: epoch counters, steps per epoch, …
    this.slot = 0;                    // position in the comparison (run A = 0), kept in saves
  }
  doneEpochs() { return this.info ? this.info.epoch : 0; }
  /** Runs fn(trainer) when no other call into the wasm module is pending. */
  lock(fn) { return exclusive(() => fn(this.trainer)); }
  free() { return this.lock((t) => { try { t.free(); } catch { /* already freed */ } }); }
}

let initPromise = null;
export function ensureInit() {
  initPromise ??= (async () => {
    ctx.cskd = await import('../cskd.js');
    await ctx.cskd.default();
  })();
  return initPromise;
}

// ---- data -------------------------------------------------------------------------------------

let dataCache = null; // { key, bytes, name, source, fingerprint }
const dataKey = (source) => (source.kind === 'url' ? `url:${source.url}` : `file:${source.file.name}:${source.file.size}:${source.file.lastModified}`);

/** SHA-256 of the data, so a resume can tell that the data set is still the same. */
async function fingerprint(bytes) {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function loadData(source) {
  const key = dataKey(source);
  if (dataCache?.key === key) return dataCache;
  dataCache = null;
  let bytes, name;
  if (source.kind === 'url') {
    status(`Downloading ${source.url}…`);
    const resp = await fetch(new URL(source.url, ctx.base ?? self.location.href));
    if (!resp.ok) throw new Error(`could not fetch ${source.url}: HTTP ${resp.status}`);
    bytes = new Uint8Array(await resp.arrayBuffer());
    name = source.name ?? source.url.split('/').pop();
  } else {
    status(`Reading ${source.file.name}…`);
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
export async function loadSavedData(meta, file) {
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

/** A file picked from disk is stored with the runs, so a reload can resume without asking for it. */
export async function storeDataFor(data) {
  if (data.source.kind !== 'file') return;
  try {
    await store.putData(data.key, data.bytes);
  } catch (e) {
    status(`Could not keep ${data.name} in this browser's storage (${errorText(e)}); to resume after a reload, choose the file again.`);
  }
}

// ---- runs -------------------------------------------------------------------------------------

/** Drops unset fields, so the trainer's defaults apply (and fields it does not know never reach it). */
export function cleanConfig(cfg) {
  const out = {};
  for (const [k, v] of Object.entries(cfg)) if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isNaN(v))) out[k] = v;
  return out;
}

export async function createRun(id, config, data, teacher = null) {
  status(`Creating the ${id} trainer (${config.model ?? 'smallcnn'})…`);
  const [trainer, resolved] = await exclusive(async () => {
    const t = teacher
      ? await ctx.cskd.Trainer.create(config, data.bytes, data.name, teacher)
      : await ctx.cskd.Trainer.create(config, data.bytes, data.name);
    return [t, t.config()];
  });
  return new Run(id, trainer, resolved.epochs ?? config.epochs ?? 1, config, data, teacher);
}

export function describe(run) {
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

/** Checkpoints the run (in memory, for a lost device) and writes it to the origin's storage. */
export async function saveRun(r, reason, gen) {
  const { bytes, epoch, stepInEpoch } = await r.lock(async (t) => ({ bytes: await t.saveCheckpoint(), epoch: t.epoch(), stepInEpoch: t.stepInEpoch() }));
  if (gen !== ctx.generation) return;
  r.lastSave = { bytes, epoch, stepInEpoch, records: [...r.records] };
  const meta = {
    id: r.id, savedAt: Date.now(), reason, epoch, stepInEpoch, epochs: r.epochs,
    stepsPerEpoch: r.info?.stepsPerEpoch ?? null, createConfig: r.createConfig,
    source: r.data.source, fingerprint: r.data.fingerprint, records: r.lastSave.records,
    teacher: r.teacher, slot: r.slot,
  };
  let error = null;
  try {
    await store.putRun(meta, bytes);
  } catch (e) {
    error = errorText(e);
  }
  post({ type: FROM_WORKER.SAVED, run: r.id, epoch, stepInEpoch, reason, stored: !error, error });
}

export async function freeAll() {
  const old = [...ctx.runs.values()];
  ctx.runs.clear();
  await Promise.all(old.map((r) => r.free()));
}
