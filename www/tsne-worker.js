// t-SNE module worker: one run per worker (tsne.js creates it, and terminates it to cancel).
// Protocol: page → worker  { features: Float32Array n×dim, n, dim, options }
//           worker → page  { type: 'progress', iteration, iterations, kl, embedding: Float32Array n×2 }
//                          { type: 'done', embedding } | { type: 'error', message }
import { tsne } from './tsne/core.js';

self.onmessage = (event) => {
  const { features, n, dim, options } = event.data;
  try {
    const onProgress = (p) => self.postMessage({ type: 'progress', ...p }, [p.embedding.buffer]);
    const embedding = tsne(features, n, dim, { ...options, onProgress });
    self.postMessage({ type: 'done', embedding }, [embedding.buffer]);
  } catch (e) {
    self.postMessage({ type: 'error', message: e?.message ?? String(e) });
  }
};
