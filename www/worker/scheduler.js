// The training loop: a few pipelined steps (Trainer.steps) of every unfinished run per round, one
// test-set pass per finished epoch (Trainer.evaluateAll), auto-saves, pause/stop, and replacing a
// lost GPU device.
import * as store from '../shared/store.js';
import { pca2 } from '../shared/pca.js';
import { FROM_WORKER } from '../shared/protocol.js';
import {
  ctx, post, status, errorText, ensureInit, freeAll, loadData, loadSavedData, storeDataFor,
  createRun, cleanConfig, describe, saveRun,
} from './runs.js';

const MAX_RECOVERIES = 3; // device losses in a row without a finished step before giving up
// Steps per Trainer.steps(n) call: pipelined steps (the GPU runs one while the host reads the last)
// as many as fit in about one progress tick, so pause, stop and the charts answer as promptly as
// with single steps; slow (software) adapters stay at 1.
const CALL_MS = 100;
const MAX_STEPS_PER_CALL = 16;
/** Most test images whose features go to the page for t-SNE (its cost grows with n²). */
export const TSNE_MAX = 2000;

export function wakeResumers() {
  const w = ctx.resumeWaiters;
  ctx.resumeWaiters = [];
  w.forEach((f) => f());
}

function begin() {
  const gen = ++ctx.generation;
  ctx.stopRequested = false;
  ctx.paused = false;
  wakeResumers();
  return gen;
}

async function announce(resumed) {
  const infos = [];
  for (const r of ctx.runs.values()) {
    r.info = await r.lock(() => describe(r));
    infos.push(r.info);
  }
  post({ type: FROM_WORKER.CREATED, runs: infos, resumed });
}

/** START: new trainers for `runs` ([{id, config}]) on the data `source`; replaces the saved runs. */
export async function handleStart({ runs, source, teacher = null }) {
  const gen = begin();
  try {
    await ensureInit();
    await freeAll();
    const data = await loadData(source);
    await store.clearAll().catch(() => {});
    await storeDataFor(data);
    for (const { id, config } of runs) {
      const clean = cleanConfig(config);
      const run = await createRun(id, clean, data, clean.kdLambda > 0 ? teacher : null);
      if (gen !== ctx.generation) { await run.free(); return; }
      run.slot = ctx.runs.size;
      ctx.runs.set(id, run);
    }
    await announce(false);
    for (const r of ctx.runs.values()) await saveRun(r, 'start', gen);
    await trainLoop(gen);
  } catch (e) {
    if (gen === ctx.generation) {
      ctx.training = false;
      post({ type: FROM_WORKER.ERROR, message: errorText(e) });
    }
  }
}

/** RESUME_SAVED: rebuilds saved runs (after a reload) exactly where they were and trains on. */
export async function handleResumeSaved({ ids, file }) {
  const gen = begin();
  try {
    await ensureInit();
    await freeAll();
    for (const id of ids) {
      const saved = await store.getRun(id);
      if (!saved) throw new Error(`there is no saved ${id} run any more`);
      const { meta, checkpoint } = saved;
      const data = await loadSavedData(meta, file);
      const run = await createRun(id, meta.createConfig, data, meta.teacher ?? null);
      if (gen !== ctx.generation) { await run.free(); return; }
      run.slot = meta.slot ?? ctx.runs.size;
      ctx.runs.set(id, run);
      status(`Resuming ${id} at epoch ${meta.epoch}, step ${meta.stepInEpoch}…`);
      await run.lock((t) => t.resume(checkpoint));
      run.records = [...meta.records];
      run.lastSave = { bytes: checkpoint, epoch: meta.epoch, stepInEpoch: meta.stepInEpoch, records: [...meta.records] };
    }
    await announce(true);
    for (const r of ctx.runs.values()) {
      for (const rec of r.records) post(rec);
      r.viewsAt = r.records.length ? r.records.at(-1).epoch - 1 : -1; // views are redrawn below
    }
    await trainLoop(gen);
  } catch (e) {
    if (gen === ctx.generation) {
      ctx.training = false;
      post({ type: FROM_WORKER.ERROR, message: `Could not resume: ${errorText(e)}` });
    }
  }
}

/** Whether an error means the GPU device is gone (GPUDevice.lost may resolve a moment later). */
export async function isDeviceLoss(e) {
  if (/device.{0,20}lost|lost.{0,20}device|destroyed/i.test(errorText(e))) return true;
  for (let i = 0; i < 10; i++) {
    if (ctx.cskd.gpuLost()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return ctx.cskd.gpuLost();
}

/** Replaces every run's trainer with one on a new device, resumed from the run's last save. */
export async function recover(list, cause) {
  status(`The GPU device was lost (${cause}). Opening a new device and resuming from the last saves…`);
  ctx.cskd.resetGpu(); // drop the dead device even if GPUDevice.lost has not resolved yet
  const resumed = [];
  for (const r of list) {
    await r.free();
    const fresh = await createRun(r.id, r.createConfig, r.data, r.teacher);
    if (r.lastSave) await fresh.lock((t) => t.resume(r.lastSave.bytes));
    r.trainer = fresh.trainer;
    r.records = r.lastSave ? [...r.lastSave.records] : [];
    r.stepPoints = [];
    r.info = await r.lock(() => describe(r));
    r.last = null;
    resumed.push({ id: r.id, epoch: r.info.epoch, stepInEpoch: r.info.stepInEpoch });
  }
  const where = resumed.map((x) => `${x.id} ${x.stepInEpoch ? `at step ${x.stepInEpoch} of epoch ${x.epoch + 1}`
    : x.epoch ? `after epoch ${x.epoch}` : 'from the start'}`).join('; ');
  post({ type: FROM_WORKER.RECOVERED, reason: cause, runs: resumed, text: `The GPU device was lost (${cause}); a new device was opened and training resumed from the last saves: ${where}.` });
}

/** ONE pass over the test set: metrics, and the views (PCA; features for t-SNE; probabilities). */
export async function evaluateAndViews(run, epochLabel) {
  const { metrics, embeddings: emb, predictions: preds } = await run.lock((t) => t.evaluateAll());
  const n = emb.labels.length;
  const pca = pca2(emb.data, n, emb.dim);
  const labels = Uint32Array.from(emb.labels);
  const probs = Float32Array.from(preds.probs);
  const predLabels = Uint32Array.from(preds.labels);
  const m = Math.min(n, TSNE_MAX);
  const features = Float32Array.from(emb.data.subarray(0, m * emb.dim));
  post({
    type: FROM_WORKER.VIEWS, run: run.id, epoch: epochLabel,
    pca: { coords: pca.coords, labels, variance: pca.variance, total: pca.total, dim: emb.dim },
    features: { n: m, dim: emb.dim, data: features },
    predictions: { classes: preds.classes, probs, labels: predLabels },
  }, [pca.coords.buffer, labels.buffer, probs.buffer, predLabels.buffer, features.buffer]);
  return metrics;
}

export async function trainLoop(gen) {
  ctx.training = true;
  const list = [...ctx.runs.values()];
  const total = list.reduce((a, r) => a + r.info.totalSteps, 0);
  const position = () => list.reduce((a, r) => a + r.info.epoch * r.info.stepsPerEpoch + r.info.stepInEpoch, 0);
  let done = position();
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
    for (const r of list) {
      per[r.id] = r.last ? { ...r.last } : null;
      if (r.stepPoints.length) {
        post({ type: FROM_WORKER.STEPS, run: r.id, points: r.stepPoints });
        r.stepPoints = [];
      }
    }
    post({ type: FROM_WORKER.PROGRESS, done, total, activeMs, runs: per });
  };
  status('Training…');
  progress(true);

  let losses = 0; // device losses since the last finished step
  while (gen === ctx.generation && !ctx.stopRequested) {
    try {
      if (ctx.paused) {
        progress(true);
        // Save on pause: a closed or reloaded tab resumes from exactly here.
        for (const r of list) await saveRun(r, 'pause', gen);
        if (gen !== ctx.generation) return;
        if (ctx.paused) {
          status('Paused (saved in this browser).');
          await new Promise((r) => ctx.resumeWaiters.push(r));
        }
        lastTick = performance.now();
        if (gen !== ctx.generation) return;
        if (!ctx.stopRequested) status('Training…');
        continue;
      }
      const pending = list.filter((r) => r.doneEpochs() < r.epochs);
      if (!pending.length) break;
      // Interleave: a call of steps of every unfinished run per round, so all runs progress together.
      for (const r of pending) {
        if (gen !== ctx.generation || ctx.paused || ctx.stopRequested) break;
        const started = performance.now();
        // Ends at an epoch's end (the last report's epochDone), with no step left in flight.
        const { reports, epoch, stepInEpoch } = await r.lock(async (t) => {
          const reports = await t.steps(r.stepsPerCall);
          return { reports, epoch: t.epoch(), stepInEpoch: t.stepInEpoch() };
        });
        if (gen !== ctx.generation) return;
        const perStep = (performance.now() - started) / reports.length;
        r.stepsPerCall = Math.max(1, Math.min(MAX_STEPS_PER_CALL, Math.floor(CALL_MS / perStep)));
        losses = 0;
        done += reports.length;
        // report.step counts from 1 within report.epoch; an epoch's last step lands on the next whole epoch.
        for (const s of reports) r.stepPoints.push([s.epoch + s.step / r.info.stepsPerEpoch, s.loss]);
        const s = reports.at(-1);
        const rolled = s.epochDone;
        r.last = { ...s, epoch, stepInEpoch };
        r.info.epoch = epoch;
        r.info.stepInEpoch = stepInEpoch;
        progress(false);
        if (rolled) {
          progress(true);
          status(`Evaluating ${r.id} after epoch ${epoch}…`);
          const metrics = await evaluateAndViews(r, epoch);
          // The trainer already averaged the epoch's step losses (also across a mid-epoch resume).
          const trainLoss = (await r.lock((t) => t.history())).at(-1)?.trainLoss ?? null;
          const record = { type: FROM_WORKER.EPOCH, run: r.id, epoch, trainLoss, lastLoss: s.loss, metrics };
          r.records.push(record);
          post(record);
          r.viewsAt = epoch;
          await saveRun(r, 'epoch', gen);
          if (gen === ctx.generation && !ctx.stopRequested && !ctx.paused) status('Training…');
        }
      }
    } catch (e) {
      if (gen !== ctx.generation) return;
      if (++losses > MAX_RECOVERIES || !(await isDeviceLoss(e))) throw e;
      await recover(list, errorText(e));
      if (gen !== ctx.generation) return;
      done = position();
      progress(true);
      if (!ctx.paused && !ctx.stopRequested) status('Training…');
    }
  }
  if (gen !== ctx.generation) return;
  progress(true);
  // Stopped mid-epoch: refresh the views (and metrics) for the partially trained state.
  for (const r of list) {
    const at = r.info.epoch + r.info.stepInEpoch / r.info.stepsPerEpoch;
    if (at > r.viewsAt && at > 0) {
      status(`Final evaluation of ${r.id}…`);
      const metrics = await evaluateAndViews(r, +at.toFixed(2));
      post({ type: FROM_WORKER.FINAL, run: r.id, epoch: +at.toFixed(2), metrics });
      r.viewsAt = at;
    }
  }
  ctx.training = false;
  post({ type: FROM_WORKER.DONE, stopped: ctx.stopRequested });
}
