// t-SNE of feature vectors off the page's thread (the paper's embedding figure).
//
//   const run = runTsne(features, n, dim, { perplexity: 30, iterations: 500, seed: 1, onProgress, signal });
//   const xy = await run;   // Float32Array n × 2 (row-major)
//   run.cancel();           // or abort `signal`: the worker is terminated and the promise rejects (AbortError)
//
// features: Float32Array n × dim (row-major; copied, so the caller keeps it). Other options (see
// tsne/core.js DEFAULTS): pca (reduce to 50 principal components first when dim > 50; 0 = off), theta
// (Barnes–Hut), earlyExaggeration, exaggerationIterations, learningRate, progressEvery.
// onProgress({ iteration, iterations, kl, embedding }) every `progressEvery` (10) iterations: embedding
// is the current Float32Array n × 2, for drawing the map as it forms.
// Cost: an exact O(n² · dim) neighbour search, then O(n log n) per iteration (Barnes–Hut): meant for a
// few thousand points (2000 × 128-D: about 3 s of one CPU core).
// Bad input rejects at once with the message of tsne/core.js checkInput (before any worker starts).
import { checkInput } from './tsne/core.js';

export function runTsne(features, n, dim, options = {}) {
  const { onProgress, signal, ...rest } = options;
  let cancel = () => {};
  const promise = new Promise((resolve, reject) => {
    checkInput(features, n, dim, { ...rest, onProgress });
    if (signal?.aborted) throw abortError(signal);
    const worker = new Worker(new URL('./tsne-worker.js', import.meta.url), { type: 'module' });
    const finish = () => { worker.terminate(); signal?.removeEventListener('abort', onAbort); cancel = () => {}; };
    const onAbort = () => { finish(); reject(abortError(signal)); };
    cancel = () => { finish(); reject(abortError()); };
    signal?.addEventListener('abort', onAbort);
    worker.onmessage = ({ data }) => {
      if (data.type === 'progress') onProgress?.(data);
      else if (data.type === 'done') { finish(); resolve(data.embedding); }
      else if (data.type === 'error') { finish(); reject(new Error(data.message)); }
    };
    worker.onerror = (e) => { finish(); reject(new Error(`t-SNE worker failed: ${e?.message ?? 'could not load tsne-worker.js'}`)); };
    worker.postMessage({ features, n, dim, options: rest });
  });
  promise.cancel = () => cancel();
  return promise;
}

function abortError(signal) {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('t-SNE cancelled', 'AbortError');
}
