// The module Web Worker behind ./worker.js (createWorkerTrainer): it owns one cskd Trainer, so the
// page never blocks on a training step. Protocol, one reply per request:
//   page → worker: {id, op, args}   (op: 'create', 'adapterInfo' or a Trainer method name)
//   worker → page: {id, ok: true, result} | {id, ok: false, error: {name, message}}
// A static import (not import()) keeps bundlers' worker builds to one chunk.
import init, { Trainer, adapterInfo } from './cskd.js';

let trainer = null;
let ready = null; // the wasm module's init promise (one per worker)

// Calls run one after another: a wasm-bindgen object must not be re-entered while one of its
// async methods is pending.
let queue = Promise.resolve();

function bytesOf(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('data must be a Uint8Array, an ArrayBuffer or a Blob');
}

async function create(config, data, fileName, wasm, teacher) {
  if (trainer) throw new Error('this worker already holds a trainer');
  ready ??= init(wasm ? { module_or_path: wasm } : undefined);
  await ready;
  const bytes = typeof Blob !== 'undefined' && data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : bytesOf(data);
  trainer = await Trainer.create(config ?? undefined, bytes, String(fileName), teacher == null ? undefined : bytesOf(teacher));
  return null;
}

async function run(op, args) {
  if (op === 'create') return create(...args);
  if (op === 'adapterInfo') {
    await ready;
    return adapterInfo();
  }
  if (!trainer) throw new Error('this worker holds no trainer (it was freed)');
  if (op === 'free') {
    trainer.free();
    trainer = null;
    return null;
  }
  // Any public Trainer method (so a newer cskd.js works with this worker unchanged).
  if (op === 'constructor' || op.startsWith('_') || typeof Trainer.prototype[op] !== 'function') {
    throw new Error(`Trainer has no method ${op}`);
  }
  return trainer[op](...args);
}

// Typed arrays in a result (top level or one property deep) move to the page instead of being copied.
function transferables(result) {
  const out = new Set();
  const add = (v) => { if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) out.add(v.buffer); };
  add(result);
  if (result && typeof result === 'object' && !ArrayBuffer.isView(result)) Object.values(result).forEach(add);
  return [...out];
}

function errorOf(e) {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

self.onmessage = ({ data: { id, op, args = [] } }) => {
  queue = queue.then(async () => {
    try {
      const result = await run(op, args);
      self.postMessage({ id, ok: true, result }, transferables(result));
    } catch (e) {
      self.postMessage({ id, ok: false, error: errorOf(e) });
    }
  });
};
