// Request/reply between a page and a Web Worker: the one helper behind the demo's training worker
// (page/main.js ↔ worker/trainer.js), its t-SNE worker (page/tsne.js ↔ worker/tsne.js) and the npm
// package's worker helper (npm/worker.js ↔ npm/trainer-worker.js; scripts/build-npm.sh copies this
// file into the package as rpc.js). Self-contained on purpose: it imports nothing.
//
//   caller → worker: { type: 'call', id, op, args }
//   worker → caller: { type: 'reply', id, ok: true, result } | { type: 'reply', id, ok: false, error: { name, message } }
//
// Each reply answers the call with the same id. Other messages may share the channel (their `type`
// differs). Typed arrays in a result (top level, or one level into an object or array) are transferred,
// not copied; a call's own transfer list is given to call(). Errors reach the caller as Errors with the
// worker's message (and name, when it is not plain 'Error').

export const CALL = 'call';
export const REPLY = 'reply';

/** What an exception becomes on the wire. */
export function errorOf(e) {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** The Error a failed call rejects with. */
export function toError({ name, message } = {}) {
  const e = new Error(message);
  if (name && name !== 'Error') e.name = name;
  return e;
}

/** The ArrayBuffers of the typed arrays in `value`, at the top level or one property/element deep. */
export function transferables(value) {
  const out = new Set();
  const add = (v) => { if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) out.add(v.buffer); };
  add(value);
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) Object.values(value).forEach(add);
  return [...out];
}

/**
 * The caller's side. `send(message, transfer)` posts to the worker (it may throw, e.g. when there is
 * no worker or an argument cannot be cloned: that call rejects). Feed every message from the worker to
 * onMessage(); it returns whether the message was a reply. fail(error) rejects every pending call and
 * every later one with `error` (the worker was terminated or failed to load).
 */
export function rpcClient(send) {
  let next = 1;
  const pending = new Map(); // id → { resolve, reject }
  let failure = null;
  const call = (op, args, transfer = []) => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      try {
        send({ type: CALL, id, op, args }, transfer);
      } catch (e) {
        pending.delete(id);
        reject(e);
      }
    });
  };
  const onMessage = (msg) => {
    if (msg?.type !== REPLY) return false;
    const p = pending.get(msg.id);
    if (p) {
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(toError(msg.error));
    }
    return true;
  };
  const fail = (error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  return { call, onMessage, fail, get failed() { return failure !== null; } };
}

/**
 * The worker's side: returns onCall(message) for the CALL messages, which runs `handle(op, args)` and
 * posts its result or error back with `post(message, transfer)` (default: the worker's postMessage).
 * serial: calls run one after another (a wasm-bindgen object must not be re-entered while one of its
 * async methods is pending); otherwise `handle` orders them itself.
 */
export function rpcServer(handle, { post = (m, t) => self.postMessage(m, t), serial = false } = {}) {
  let queue = Promise.resolve();
  const answer = async ({ id, op, args }) => {
    try {
      const result = await handle(op, args);
      post({ type: REPLY, id, ok: true, result }, transferables(result));
    } catch (e) { // the handler's error, or a result that cannot be cloned
      post({ type: REPLY, id, ok: false, error: errorOf(e) });
    }
  };
  return (msg) => {
    if (!serial) return answer(msg);
    queue = queue.then(() => answer(msg));
    return queue;
  };
}
