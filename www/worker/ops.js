// Request/reply operations (CALL, answered through ../shared/rpc.js by trainer.js): test images,
// classifying an uploaded image, checkpoints. Each takes one object of arguments from the page.
import { ctx, post, status, ensureInit, loadData, createRun, cleanConfig, describe, saveRun } from './runs.js';
import { evaluateAndViews } from './scheduler.js';
import { FROM_WORKER } from '../shared/protocol.js';

export const ops = {
  async testImages({ indices, run }) {
    const r = ctx.runs.get(run) ?? [...ctx.runs.values()][0];
    if (!r) throw new Error('no trained run yet');
    return r.lock((t) => indices.map((i) => t.testImage(i)));
  },
  async predict({ rgba, width, height }) {
    if (!ctx.runs.size) throw new Error('train (or load) a network first');
    const out = {};
    for (const r of ctx.runs.values()) out[r.id] = Float32Array.from(await r.lock((t) => t.predict(rgba, width, height)));
    return out;
  },
  async save({ run }) {
    const r = ctx.runs.get(run);
    if (!r) throw new Error(`no ${run} run to save`);
    const bytes = await r.lock((t) => t.saveCheckpoint());
    const info = await r.lock((t) => ({ epoch: t.epoch(), config: t.config() }));
    return { bytes, ...info };
  },
  /** Loads weights into run `run`, creating it from `config` on the data `source` if needed. */
  async load({ run, bytes, config, source }) {
    await ensureInit();
    let r = ctx.runs.get(run);
    if (!r) {
      if (ctx.training) throw new Error('stop training before loading weights into a new run');
      const data = await loadData(source);
      r = await createRun(run, cleanConfig(config), data);
      ctx.runs.set(run, r);
      post({ type: FROM_WORKER.CREATED, runs: [await r.lock(() => describe(r))], add: true });
    }
    await r.lock((t) => t.loadCheckpoint(bytes));
    status(`Loaded weights into ${run}; evaluating…`);
    const info = await r.lock(() => describe(r));
    r.info = info;
    if (!ctx.training) await saveRun(r, 'load', ctx.generation); // a lost device or a reload keeps these weights
    const metrics = await evaluateAndViews(r, info.epoch);
    r.viewsAt = info.epoch;
    status(`Loaded weights into ${run}.`);
    return { info, metrics };
  },
};
