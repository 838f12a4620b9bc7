// The page ↔ training-worker protocol: every message type, in one place. Messages are plain
// objects with a `type`; both sides import these names, so a typo is an undefined constant, not a
// message that nobody answers. Request/reply (CALL/REPLY) is rpc.js's.
import { CALL, REPLY } from './rpc.js';

/** page → worker */
export const TO_WORKER = Object.freeze({
  INIT: 'init',                     // { kernels?, base } (the page's ?kernels= override; the page's URL, for relative data URLs)
  START: 'start',                   // { runs: [{ id, config }], source, teacher } (teacher: KD checkpoint bytes | null)
  RESUME_SAVED: 'resumeSaved',      // { ids, file }
  PAUSE: 'pause',                   // {}
  RESUME: 'resume',                 // {}
  STOP: 'stop',                     // {}
  CALL,                             // { id, op, args }  (request/reply, rpc.js; the ops are worker/ops.js's)
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
  REPLY,                  // { id, ok, result | error: { name, message } } (rpc.js)
});
