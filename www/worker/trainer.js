// Training worker (module worker, started by page/main.js). Owns the wasm module (../cskd.js) and the
// Trainers, so the page never blocks. The messages are listed in ../shared/protocol.js, request/reply
// is ../shared/rpc.js; the runs live in runs.js, the training loop in scheduler.js and the
// request/reply operations in ops.js. Every run is auto-saved (../shared/store.js) when it is created,
// after every epoch and on pause; a lost GPU device is replaced and every run resumes from its last save.
import { TO_WORKER, FROM_WORKER } from '../shared/protocol.js';
import { rpcServer } from '../shared/rpc.js';
import { ctx, post, errorText, ensureInit } from './runs.js';
import { handleStart, handleResumeSaved, wakeResumers, isDeviceLoss, recover } from './scheduler.js';
import { ops } from './ops.js';

async function handleInit(msg) {
  // Data URLs are relative to the page (assets/…), not to this script in worker/.
  if (msg.base) ctx.base = msg.base;
  try {
    await ensureInit();
  } catch (e) {
    post({ type: FROM_WORKER.INIT, webgpu: false, wasm: false, reason: `Could not load the WebAssembly module (cskd.js / cskd_bg.wasm): ${errorText(e)}` });
    return;
  }
  // The preset menu's list (src/train/presets.json): the page shows it with or without WebGPU.
  let presets = [];
  try { presets = ctx.cskd.presets(); } catch (e) { console.warn(`presets: ${errorText(e)}`); }
  const postInit = (m) => post({ ...m, presets });
  let webgpu = false;
  try { webgpu = ctx.cskd.webgpuAvailable(); } catch { /* treated as unavailable */ }
  if (!webgpu) {
    postInit({ type: FROM_WORKER.INIT, webgpu: false, wasm: true, reason: 'navigator.gpu is not defined in this browser (or in its workers).' });
    return;
  }
  try {
    // `?kernels=tiled|compact|shared` on the page overrides the adapter's kernel family.
    if (msg.kernels) ctx.cskd.setKernels(msg.kernels);
    const adapter = await ctx.cskd.adapterInfo();
    // KD needs Trainer.create's 4th argument (the teacher checkpoint).
    const kd = ctx.cskd.Trainer.create.length >= 4;
    postInit({ type: FROM_WORKER.INIT, webgpu: true, wasm: true, adapter: { ...adapter }, kd });
  } catch (e) {
    postInit({ type: FROM_WORKER.INIT, webgpu: false, wasm: true, reason: `No WebGPU adapter: ${errorText(e)}` });
  }
}

// CALL: one request/reply operation of ops.js (its result's typed arrays are transferred to the page).
const handleCall = rpcServer(async (name, args = {}) => {
  const op = Object.hasOwn(ops, name) ? ops[name] : null;
  if (!op) throw new Error(`worker: unknown operation ${name}`);
  try {
    return await op(args);
  } catch (e) {
    // Idle with a lost device: rebuild the runs from their saves, then try once more.
    if (ctx.training || !ctx.runs.size || !ctx.cskd || !(await isDeviceLoss(e))) throw e;
    await recover([...ctx.runs.values()], errorText(e));
    return op(args);
  }
}, { post });

self.onmessage = (ev) => {
  const msg = ev.data;
  switch (msg.type) {
    case TO_WORKER.INIT: return handleInit(msg);
    case TO_WORKER.START: return handleStart(msg);
    case TO_WORKER.RESUME_SAVED: return handleResumeSaved(msg);
    case TO_WORKER.PAUSE: ctx.paused = true; return;
    case TO_WORKER.RESUME: ctx.paused = false; wakeResumers(); return;
    case TO_WORKER.STOP: ctx.stopRequested = true; ctx.paused = false; wakeResumers(); return;
    // The Playwright test destroys the device mid-step, as a driver reset would (not queued on purpose).
    case TO_WORKER.DESTROY_DEVICE: if (ctx.cskd) ctx.cskd.destroyDeviceForTesting(); return;
    case TO_WORKER.CALL: return handleCall(msg);
    default:
      post({ type: FROM_WORKER.ERROR, message: `worker: unknown message ${msg.type}` });
  }
};
