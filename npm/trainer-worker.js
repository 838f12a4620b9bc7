// The module Web Worker behind ./worker.js (createWorkerTrainer): it owns one cskd Trainer, so the
// page never blocks on a training step. Request/reply through ./rpc.js, one reply per call:
//   page → worker: {type: 'call', id, op, args}   (op: 'create', 'adapterInfo' or a Trainer method name; args an array)
//   worker → page: {type: 'reply', id, ok: true, result} | {type: 'reply', id, ok: false, error: {name, message}}
// Typed arrays in a result (top level or one property deep) move to the page instead of being copied.
// A static import (not import()) keeps bundlers' worker builds to one chunk.
import init, { Trainer, adapterInfo } from './cskd.js';
import { rpcServer } from './rpc.js';

let trainer = null;
let ready = null; // the wasm module's init promise (one per worker)

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

// Calls run one after another: a wasm-bindgen object must not be re-entered while one of its
// async methods is pending.
const onCall = rpcServer((op, args = []) => run(op, args), { serial: true });
self.onmessage = ({ data }) => onCall(data);
