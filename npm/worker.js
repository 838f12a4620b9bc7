// A cskd Trainer in a Web Worker behind promises, so training never blocks the page:
//
//   import { createWorkerTrainer } from 'cskd/worker';
//   const t = await createWorkerTrainer({ method: 'cskd', width: 8, batch: 32, epochs: 5 }, bytes, 'cifar.tar.gz');
//   const s = await t.step();          // the same results as Trainer, one worker round trip each
//   t.terminate();
//
// The worker is created with `new Worker(new URL('./trainer-worker.js', import.meta.url), {type: 'module'})`,
// the form Vite, webpack 5 and Parcel recognise and bundle; plain pages need nothing else.

// Request/reply (ids, promises, errors, transfer lists) is rpc.js: the demo page's helper
// (www/shared/rpc.js), copied into the package by scripts/build-npm.sh. Rejections carry the worker's
// message unchanged (the Trainer's own error text).
import { rpcClient } from './rpc.js';

export class WorkerTrainer {
  #worker;
  #rpc;

  /** Use createWorkerTrainer(); this wraps a Worker running trainer-worker.js. */
  constructor(worker) {
    this.#worker = worker;
    this.#rpc = rpcClient((msg, transfer) => worker.postMessage(msg, transfer));
    worker.addEventListener('message', ({ data }) => this.#rpc.onMessage(data));
    // A worker that fails to load (missing trainer-worker.js / cskd.js) or dies of an uncaught error.
    worker.addEventListener('error', (e) => {
      e.preventDefault?.();
      this.#rpc.fail(new Error(`cskd worker failed: ${e.message || 'could not load trainer-worker.js or cskd.js'}`));
    });
    worker.addEventListener('messageerror', () => this.#rpc.fail(new Error('cskd worker failed: a message could not be deserialised')));
  }

  /** Calls `op` in the worker; calls run in order, one at a time. */
  call(op, ...args) { return this.#rpc.call(op, args); }

  /** Whether terminate() was called or the worker failed. */
  get terminated() { return this.#rpc.failed; }

  step() { return this.call('step'); }
  steps(n) { return this.call('steps', n); }
  evaluate() { return this.call('evaluate'); }
  evaluateAll() { return this.call('evaluateAll'); }
  history() { return this.call('history'); }
  embeddings() { return this.call('embeddings'); }
  testPredictions() { return this.call('testPredictions'); }
  testImage(index) { return this.call('testImage', index); }
  predict(rgba, width, height) { return this.call('predict', rgba, width, height); }
  saveCheckpoint() { return this.call('saveCheckpoint'); }
  loadCheckpoint(bytes) { return this.call('loadCheckpoint', bytes); }
  resume(bytes) { return this.call('resume', bytes); }
  config() { return this.call('config'); }
  classes() { return this.call('classes'); }
  stepsPerEpoch() { return this.call('stepsPerEpoch'); }
  epoch() { return this.call('epoch'); }
  stepInEpoch() { return this.call('stepInEpoch'); }
  totalSteps() { return this.call('totalSteps'); }
  numTest() { return this.call('numTest'); }
  numParameters() { return this.call('numParameters'); }
  adapterInfo() { return this.call('adapterInfo'); }

  /** Stops the worker at once (its GPU memory goes with it); pending and later calls reject. */
  terminate() {
    this.#worker.terminate();
    this.#rpc.fail(new Error('the cskd worker trainer was terminated'));
  }
}

/**
 * Starts a worker, loads the wasm module in it and creates a Trainer there. Rejects with the
 * Trainer's error (bad config, bad data, no WebGPU …) and then stops the worker.
 * options.teacher: checkpoint bytes of a teacher to distil from (config.kdLambda > 0);
 * options.worker: a Worker already running trainer-worker.js (for bundlers that do not handle
 * `new URL(…, import.meta.url)`); options.wasm: the URL of cskd_bg.wasm, if it is not next to cskd.js.
 */
export async function createWorkerTrainer(config, data, fileName, options = {}) {
  const worker = options.worker ?? new Worker(new URL('./trainer-worker.js', import.meta.url), { type: 'module', name: 'cskd-trainer' });
  const trainer = new WorkerTrainer(worker);
  try {
    // Resolved here, against the page: inside the worker a relative URL would resolve against the worker script.
    const wasm = options.wasm === undefined ? undefined : new URL(String(options.wasm), globalThis.location?.href).href;
    await trainer.call('create', config, data, fileName, wasm, options.teacher);
  } catch (e) {
    trainer.terminate();
    throw e;
  }
  return trainer;
}
