// t-SNE module worker: one run per worker (page/tsne.js starts it, and terminates it to cancel).
// Request/reply through ../shared/rpc.js: call('tsne', { features: Float32Array n×dim, n, dim, options })
// answers with the embedding (Float32Array n×2, transferred) or the error; while it runs the worker also
// posts { type: 'progress', iteration, iterations, kl, embedding: Float32Array n×2 }.
import { tsne } from '../shared/tsne/core.js';
import { rpcServer } from '../shared/rpc.js';

const onCall = rpcServer((op, { features, n, dim, options }) => {
  if (op !== 'tsne') throw new Error(`t-SNE worker: unknown operation ${op}`);
  const onProgress = (p) => self.postMessage({ type: 'progress', ...p }, [p.embedding.buffer]);
  return tsne(features, n, dim, { ...options, onProgress });
});

self.onmessage = ({ data }) => onCall(data);
