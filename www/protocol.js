// The page ↔ training-worker protocol: every message type, in one place. Messages are plain
// objects with a `type`; both sides import these names, so a typo is an undefined constant, not a
// message that nobody answers.

/** page → worker */
export const TO_WORKER = Object.freeze({
  INIT: 'init',                     // { kernels? } (the page's ?kernels= override)
  START: 'start',                   // { runs: [{ id, config }], source, teacher } (teacher: KD checkpoint bytes | null)
  RESUME_SAVED: 'resumeSaved',      // { ids, file }
  PAUSE: 'pause',                   // {}
  RESUME: 'resume',                 // {}
  STOP: 'stop',                     // {}
  CALL: 'call',                     // { id, op, args }  (request/reply, see WORKER_OPS)
  DESTROY_DEVICE: 'destroyDeviceForTesting', // {} the tests lose the GPU device on purpose
});

/** worker → page */
export const FROM_WORKER = Object.freeze({
  INIT: 'init',           // { webgpu, wasm, adapter | reason }
  STATUS: 'status',       // { text }
  CREATED: 'created',     // { runs: [info], resumed?, add? }
  PROGRESS: 'progress',   // { done, total, activeMs, runs: { id: last step | null } }
  STEPS: 'steps',         // { run, points: [[epochs (fractional), loss]] } every step's loss, batched
  EPOCH: 'epoch',         // { run, epoch, trainLoss, lastLoss, metrics }
  VIEWS: 'views',         // { run, epoch, pca, features, predictions }
  FINAL: 'final',         // { run, epoch, metrics } (stopped mid-epoch, or weights loaded)
  SAVED: 'saved',         // { run, epoch, stepInEpoch, reason, stored, error }
  RECOVERED: 'recovered', // { reason, runs, text }
  DONE: 'done',           // { stopped }
  ERROR: 'error',         // { message }
  REPLY: 'reply',         // { id, ok, result | error }
});

/** Operations of a CALL: testImages {indices, run} | predict {rgba, width, height} | save {run}
 *  | load {run, bytes, config, source}. */
export const WORKER_OPS = Object.freeze(['testImages', 'predict', 'save', 'load']);

/** The page's side of CALL/REPLY: call(op, args, transfer) → Promise of the result. */
export function rpcClient(getWorker) {
  let next = 1;
  const pending = new Map();
  const call = (op, args, transfer = []) => new Promise((resolve, reject) => {
    const worker = getWorker();
    if (!worker) { reject(new Error('the training worker is not running')); return; }
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ type: TO_WORKER.CALL, id, op, args }, transfer);
  });
  const onReply = (msg) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
  };
  return { call, onReply };
}
