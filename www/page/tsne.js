// t-SNE of feature vectors off the page's thread (the paper's embedding figure).
//
//   const run = runTsne(features, n, dim, { perplexity: 30, iterations: 500, seed: 1, onProgress, signal });
//   const xy = await run;   // Float32Array n × 2 (row-major)
//   run.cancel();           // or abort `signal`: the worker is terminated and the promise rejects (AbortError)
//
// features: Float32Array n × dim (row-major; copied, so the caller keeps it). Other options (see
// ../shared/tsne/core.js DEFAULTS): pca (reduce to 50 principal components first when dim > 50; 0 = off), theta
// (Barnes–Hut), earlyExaggeration, exaggerationIterations, learningRate, progressEvery.
// onProgress({ iteration, iterations, kl, embedding }) every `progressEvery` (10) iterations: embedding
// is the current Float32Array n × 2, for drawing the map as it forms.
// Cost: an exact O(n² · dim) neighbour search, then O(n log n) per iteration (Barnes–Hut): meant for a
// few thousand points (2000 × 128-D: about 3 s of one CPU core).
// Bad input rejects at once with the message of ../shared/tsne/core.js checkInput (before any worker
// starts). The worker is ../worker/tsne.js, reached through ../shared/rpc.js.
import { checkInput } from '../shared/tsne/core.js';
import { rpcClient } from '../shared/rpc.js';

export function runTsne(features, n, dim, options = {}) {
  const { onProgress, signal, ...rest } = options;
  let cancel = () => {};
  const promise = new Promise((resolve, reject) => {
    checkInput(features, n, dim, { ...rest, onProgress });
    if (signal?.aborted) throw abortError(signal);
    const worker = new Worker(new URL('../worker/tsne.js', import.meta.url), { type: 'module' });
    const rpc = rpcClient((msg, transfer) => worker.postMessage(msg, transfer));
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      worker.terminate();
      signal?.removeEventListener('abort', onAbort);
      cancel = () => {};
    };
    const stop = (error) => { finish(); rpc.fail(error); };
    const onAbort = () => stop(abortError(signal));
    cancel = () => stop(abortError());
    signal?.addEventListener('abort', onAbort);
    worker.onmessage = ({ data }) => {
      if (data?.type === 'progress') onProgress?.(data);
      else rpc.onMessage(data);
    };
    worker.onerror = (e) => stop(new Error(`t-SNE worker failed: ${e?.message ?? 'could not load worker/tsne.js'}`));
    // The features are copied (no transfer list), so the caller keeps them.
    rpc.call('tsne', { features, n, dim, options: rest })
      .then((embedding) => { finish(); resolve(embedding); }, (e) => { finish(); reject(e); });
  });
  promise.cancel = () => cancel();
  return promise;
}

function abortError(signal) {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('t-SNE cancelled', 'AbortError');
}
