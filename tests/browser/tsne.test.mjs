// t-SNE for the demo page (www/page/tsne.js, www/worker/tsne.js, www/shared/tsne/*.js, www/shared/pca.js),
// in Node, no browser:
// the Barnes–Hut gradient against the exact one, the perplexity calibration, the PCA pre-reduction,
// the embedding of well-separated Gaussian clusters (kNN class agreement in 2-D), determinism, input
// errors, and runTsne's worker protocol and cancellation (through a small Web Worker shim on
// worker_threads). Logs the time of a 2000 × 128-D run (no timed assertion).
// Run: node --test tsne.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker as NodeWorker } from 'node:worker_threads';
import {
  tsne, gradient, jointProbabilities, calibrateRow, pcaReduce, checkInput, rng, gaussian,
} from '../../www/shared/tsne/core.js';
import { pca2 } from '../../www/shared/pca.js';

// c clusters × per points in dim-D: centres N(0, 1) per coordinate, points centre + N(0, sd²).
function clusters(c, per, dim, seed, sd = 0.3) {
  const normal = gaussian(rng(seed));
  const centres = Array.from({ length: c }, () => Array.from({ length: dim }, () => normal()));
  const n = c * per;
  const X = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % c;
    for (let j = 0; j < dim; j++) X[i * dim + j] = centres[labels[i]][j] + sd * normal();
  }
  return { X, n, dim, labels };
}

// Fraction of each point's k nearest 2-D neighbours that share its label.
function knnAgreement(Y, labels, k = 10) {
  const n = labels.length;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const d = [];
    for (let j = 0; j < n; j++) if (j !== i) d.push([(Y[2 * i] - Y[2 * j]) ** 2 + (Y[2 * i + 1] - Y[2 * j + 1]) ** 2, j]);
    d.sort((a, b) => a[0] - b[0]);
    for (let t = 0; t < k; t++) same += labels[d[t][1]] === labels[i];
  }
  return same / (n * k);
}

// The exact t-SNE gradient written out (O(n²), dense P), the reference for the Barnes–Hut one.
function exactGradient(Y, n, P, exaggeration) {
  const dense = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let e = P.rowPtr[i]; e < P.rowPtr[i + 1]; e++) dense[i * n + P.col[e]] = P.val[e];
  let Z = 0;
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (i === j) continue;
    q[i * n + j] = 1 / (1 + (Y[2 * i] - Y[2 * j]) ** 2 + (Y[2 * i + 1] - Y[2 * j + 1]) ** 2);
    Z += q[i * n + j];
  }
  const g = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (i === j) continue;
    const m = 4 * (exaggeration * dense[i * n + j] - q[i * n + j] / Z) * q[i * n + j];
    g[2 * i] += m * (Y[2 * i] - Y[2 * j]);
    g[2 * i + 1] += m * (Y[2 * i + 1] - Y[2 * j + 1]);
  }
  return g;
}

const relativeError = (a, b) => {
  let num = 0, den = 0;
  for (let k = 0; k < a.length; k++) { num += (a[k] - b[k]) ** 2; den += b[k] ** 2; }
  return Math.sqrt(num / den);
};

test('joint probabilities: symmetric, sum to 1; each conditional row has the asked perplexity', () => {
  const { X, n, dim } = clusters(3, 20, 8, 1);
  const P = jointProbabilities(X, n, dim, 5);
  let sum = 0;
  const at = (i, j) => { for (let e = P.rowPtr[i]; e < P.rowPtr[i + 1]; e++) if (P.col[e] === j) return P.val[e]; return 0; };
  for (let i = 0; i < n; i++) {
    for (let e = P.rowPtr[i]; e < P.rowPtr[i + 1]; e++) {
      sum += P.val[e];
      assert.notEqual(P.col[e], i, 'no self affinity');
      assert.ok(Math.abs(P.val[e] - at(P.col[e], i)) < 1e-15, `P[${i}][${P.col[e]}] = P[${P.col[e]}][${i}]`);
    }
  }
  assert.ok(Math.abs(sum - 1) < 1e-12, `Σ P = ${sum}`);

  // Distances spanning 1e-3 .. 1e6 (no underflow), perplexity 7 over 20 neighbours.
  const d2 = Float64Array.from({ length: 20 }, (_, j) => 1e6 + 37 * j * j);
  const p = new Float64Array(20);
  calibrateRow(d2, 20, 7, p);
  const entropy = -p.reduce((h, v) => h + (v > 0 ? v * Math.log(v) : 0), 0);
  assert.ok(Math.abs(Math.exp(entropy) - 7) < 1e-3, `perplexity ${Math.exp(entropy)}`);
  assert.ok(Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-12);
});

test('Barnes–Hut gradient: θ = 0 equals the exact gradient, θ = 0.5 is close', () => {
  const { X, n, dim } = clusters(4, 30, 6, 2, 1);
  const P = jointProbabilities(X, n, dim, 10);
  const normal = gaussian(rng(9));
  const Y = Float64Array.from({ length: 2 * n }, () => 3 * normal());
  Y[2] = Y[0]; Y[3] = Y[1]; // two coincident points must not break the tree
  for (const exaggeration of [1, 12]) {
    const exact = exactGradient(Y, n, P, exaggeration);
    const g0 = new Float64Array(2 * n), g5 = new Float64Array(2 * n);
    gradient(Y, n, P, exaggeration, 0, g0, {});
    gradient(Y, n, P, exaggeration, 0.5, g5, {});
    assert.ok(relativeError(g0, exact) < 1e-10, `θ=0: ${relativeError(g0, exact)}`);
    const e5 = relativeError(g5, exact);
    assert.ok(e5 > 0 && e5 < 0.05, `θ=0.5: relative error ${e5}`);
  }
  // 20 coincident points (more than a leaf holds): the tree stops splitting at its depth limit, still exact.
  const pile = Float64Array.from(Y);
  for (let i = 10; i < 30; i++) { pile[2 * i] = 0.5; pile[2 * i + 1] = -0.25; }
  const gPile = new Float64Array(2 * n);
  gradient(pile, n, P, 1, 0, gPile, {});
  assert.ok(relativeError(gPile, exactGradient(pile, n, P, 1)) < 1e-10);
  // KL(P‖Q) from the Barnes–Hut normaliser at θ = 0 = the exact sum.
  const kl = gradient(Y, n, P, 1, 0, new Float64Array(2 * n), {}, true);
  let Z = 0, exactKl = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) Z += 1 / (1 + (Y[2 * i] - Y[2 * j]) ** 2 + (Y[2 * i + 1] - Y[2 * j + 1]) ** 2);
  for (let i = 0; i < n; i++) for (let e = P.rowPtr[i]; e < P.rowPtr[i + 1]; e++) {
    const j = P.col[e], q = 1 / (1 + (Y[2 * i] - Y[2 * j]) ** 2 + (Y[2 * i + 1] - Y[2 * j + 1]) ** 2) / Z;
    exactKl += P.val[e] * Math.log(P.val[e] / q);
  }
  assert.ok(Math.abs(kl - exactKl) < 1e-10, `KL ${kl} vs ${exactKl}`);
});

test('PCA pre-reduction keeps the distances of data in a low-dimensional subspace', () => {
  // 200 points on a 3-D subspace of 100-D, plus an offset: reducing to 5 components loses nothing.
  const normal = gaussian(rng(4));
  const n = 200, dim = 100, k = 5;
  const basis = Array.from({ length: 3 }, () => Array.from({ length: dim }, () => normal()));
  const X = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const a = [normal(), normal(), normal()];
    for (let j = 0; j < dim; j++) X[i * dim + j] = 5 + a[0] * basis[0][j] + a[1] * basis[1][j] + a[2] * basis[2][j];
  }
  const Z = pcaReduce(X, n, dim, k, 1);
  assert.equal(Z.length, n * k);
  for (const [i, j] of [[0, 1], [5, 150], [42, 199]]) {
    let dx = 0, dz = 0;
    for (let c = 0; c < dim; c++) dx += (X[i * dim + c] - X[j * dim + c]) ** 2;
    for (let c = 0; c < k; c++) dz += (Z[i * k + c] - Z[j * k + c]) ** 2;
    assert.ok(Math.abs(dz - dx) < 1e-4 * dx, `d²(${i},${j}): ${dz} vs ${dx}`);
  }
});

test('pca2 (the page\'s 2-D map, same module): eigenvalues in order, coordinates on the eigenvectors, the total variance', () => {
  // 300 points spanning 2 directions of 40-D with standard deviations 3 and 1, plus an offset and one NaN.
  const normal = gaussian(rng(9));
  const n = 300, dim = 40;
  const u = Array.from({ length: dim }, (_, j) => (j === 3 ? 1 : 0));
  const w = Array.from({ length: dim }, (_, j) => (j === 17 ? 1 : 0));
  const X = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const a = 3 * normal(), b = normal();
    for (let j = 0; j < dim; j++) X[i * dim + j] = 2 + a * u[j] + b * w[j];
  }
  const { coords, variance, total } = pca2(X, n, dim);
  assert.equal(coords.length, 2 * n);
  assert.ok(variance[0] > variance[1] && variance[1] > 0, `${variance}`);
  assert.ok(Math.abs(variance[0] + variance[1] - total) < 1e-9 * total, `rank 2: ${variance} vs total ${total}`);
  // On the eigenvectors: the coordinates are uncorrelated and their variances are λ1, λ2.
  const cov = [[0, 0], [0, 0]];
  for (let i = 0; i < n; i++) for (const a of [0, 1]) for (const b of [0, 1]) cov[a][b] += coords[2 * i + a] * coords[2 * i + b] / (n - 1);
  assert.ok(Math.abs(cov[0][1]) < 1e-4 * variance[0], `covariance of PC1 and PC2: ${cov[0][1]}`);
  for (const c of [0, 1]) assert.ok(Math.abs(cov[c][c] - variance[c]) < 1e-4 * variance[c], `${cov[c][c]} vs ${variance[c]}`);
  // Rank 2: the 2-D map keeps every distance.
  for (const [i, j] of [[0, 1], [7, 299]]) {
    let dx = 0;
    for (let c = 0; c < dim; c++) dx += (X[i * dim + c] - X[j * dim + c]) ** 2;
    const dz = (coords[2 * i] - coords[2 * j]) ** 2 + (coords[2 * i + 1] - coords[2 * j + 1]) ** 2;
    assert.ok(Math.abs(dz - dx) < 1e-4 * dx, `d²(${i},${j}): ${dz} vs ${dx}`);
  }
  X[5] = NaN; // a non-finite value counts as its column's mean
  assert.ok(pca2(X, n, dim).coords.every(Number.isFinite));
  assert.deepEqual(pca2(new Float32Array(0), 0, 4), { coords: new Float32Array(0), variance: [0, 0], total: 0 });
});

test('10 well-separated clusters × 50 points in 64-D: the 2-D kNN class agreement is ≥ 0.9, far above a random map', () => {
  const { X, n, dim, labels } = clusters(10, 50, 64, 3);
  const progress = [];
  const Y = tsne(X, n, dim, { seed: 1, onProgress: (p) => progress.push(p) });
  assert.ok(Y instanceof Float32Array && Y.length === 2 * n);
  assert.ok(Y.every(Number.isFinite));
  const agreement = knnAgreement(Y, labels);
  const normal = gaussian(rng(77));
  const random = knnAgreement(Float32Array.from({ length: 2 * n }, () => normal()), labels);
  console.log(`# kNN(10) class agreement: t-SNE ${agreement.toFixed(3)}, random map ${random.toFixed(3)}`);
  assert.ok(agreement >= 0.9, `t-SNE agreement ${agreement}`);
  assert.ok(agreement > random + 0.5, `random ${random}`);
  // Progress every 10 iterations, ending at the last; KL falls once the exaggeration is over.
  assert.deepEqual(progress.map((p) => p.iteration), Array.from({ length: 50 }, (_, i) => 10 * (i + 1)));
  assert.ok(progress.every((p) => p.iterations === 500 && Number.isFinite(p.kl) && p.embedding.length === 2 * n));
  assert.ok(progress.at(-1).kl < progress[25].kl, `KL ${progress[25].kl} → ${progress.at(-1).kl}`);
  assert.deepEqual(progress.at(-1).embedding, Y);
});

test('deterministic for a seed, different for another seed', () => {
  const { X, n, dim } = clusters(3, 15, 10, 5);
  const a = tsne(X, n, dim, { perplexity: 10, iterations: 100, seed: 7 });
  const b = tsne(X, n, dim, { perplexity: 10, iterations: 100, seed: 7 });
  const c = tsne(X, n, dim, { perplexity: 10, iterations: 100, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('bad input: clear errors; tiny inputs work', () => {
  const X = new Float32Array(20);
  assert.throws(() => tsne([1, 2], 1, 2), /features must be a Float32Array/);
  assert.throws(() => tsne(X, 3, 5), /features has 20 values, expected n × dim = 3 × 5 = 15/);
  assert.throws(() => tsne(X, 4.5, 4), /n must be a non-negative integer/);
  assert.throws(() => tsne(X, 4, 0), /dim must be a positive integer/);
  assert.throws(() => tsne(Float32Array.of(0, 0, NaN, 0), 2, 2), /features\[2\] \(point 1\) is not finite/);
  assert.throws(() => tsne(X, 10, 2, { perplexity: -1 }), /perplexity must be a positive number/);
  assert.throws(() => tsne(X, 10, 2, { iterations: 2.5 }), /iterations must be a non-negative integer/);
  assert.throws(() => tsne(X, 10, 2, { theta: 2 }), /theta must be a number in \[0, 1\]/);
  assert.throws(() => tsne(X, 10, 2, { perplexty: 3 }), /unknown option "perplexty"/);
  assert.throws(() => checkInput(X, 10, 2, { onProgress: 3 }), /onProgress must be a function/);
  assert.deepEqual(tsne(new Float32Array(0), 0, 3), new Float32Array(0));
  assert.deepEqual(tsne(Float32Array.of(1, 2, 3), 1, 3), new Float32Array(2));
  // 2 points with the default perplexity 30 (capped at (n − 1) / 3): they move apart, symmetrically.
  const two = tsne(Float32Array.of(0, 0, 1, 1), 2, 2, { iterations: 50 });
  assert.ok(two[0] !== two[2] && Math.abs(two[0] + two[2]) < 1e-6 && Math.abs(two[1] + two[3]) < 1e-6, `${two}`);
  // All points equal (a dead feature extractor): finite output, no endless tree splitting.
  const same = tsne(new Float32Array(40 * 4).fill(1), 40, 4, { perplexity: 5, iterations: 50 });
  assert.ok(same.every(Number.isFinite));
});

test('2000 × 128-D (CIFAR-sized test set, PCA to 50): time, and the clusters come out', () => {
  const { X, n, dim, labels } = clusters(10, 200, 128, 6, 0.8);
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  const Y = tsne(X, n, dim, { seed: 1 });
  const seconds = (performance.now() - t0) / 1000, cpu = process.cpuUsage(cpu0);
  console.log(`# t-SNE 2000 × 128-D, 500 iterations: ${seconds.toFixed(2)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`);
  assert.ok(knnAgreement(Y, labels) >= 0.9);
});

// A Web Worker on worker_threads: enough of the browser API (self.onmessage/postMessage,
// terminate, onerror) for www/page/tsne.js. Messages wait until the worker module has loaded, as in a browser.
class WorkerShim {
  static created = 0;
  static terminated = 0;
  constructor(url, options) {
    assert.equal(options?.type, 'module');
    WorkerShim.created++;
    const boot = `
      const { parentPort } = require('node:worker_threads');
      globalThis.self = globalThis;
      globalThis.postMessage = (m, transfer) => parentPort.postMessage(m, transfer);
      const queue = [];
      let ready = false;
      parentPort.on('message', (data) => ready ? globalThis.onmessage({ data }) : queue.push(data));
      import(${JSON.stringify(url.href)}).then(() => { ready = true; for (const data of queue) globalThis.onmessage({ data }); },
        (e) => { throw e; });`;
    this.worker = new NodeWorker(boot, { eval: true });
    this.worker.on('message', (data) => this.onmessage?.({ data }));
    this.worker.on('error', (e) => this.onerror?.(e));
  }
  postMessage(message, transfer) { this.worker.postMessage(message, transfer); }
  terminate() { WorkerShim.terminated++; this.worker.terminate(); }
}

test('runTsne: same result as the core in a worker, progress, cancel(), AbortSignal, errors', async () => {
  globalThis.Worker = WorkerShim;
  try {
    const { runTsne } = await import('../../www/page/tsne.js');
    const { X, n, dim } = clusters(4, 25, 16, 8);
    const options = { perplexity: 8, iterations: 120, seed: 3 };
    const seen = [];
    const Y = await runTsne(X, n, dim, { ...options, onProgress: (p) => seen.push(p.iteration) });
    assert.deepEqual(Y, tsne(X, n, dim, options));
    assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => 10 * (i + 1)));
    assert.equal(X.length, n * dim, 'the caller keeps its features');

    // cancel() after the first progress message: rejects with AbortError, the worker is terminated.
    const before = WorkerShim.terminated;
    const run = runTsne(X, n, dim, { ...options, iterations: 100000, onProgress: () => run.cancel() });
    await assert.rejects(run, { name: 'AbortError' });
    assert.equal(WorkerShim.terminated, before + 1);

    const controller = new AbortController();
    const aborted = runTsne(X, n, dim, { ...options, iterations: 100000, signal: controller.signal,
      onProgress: () => controller.abort(new Error('page closed the view')) });
    await assert.rejects(aborted, /page closed the view/);
    await assert.rejects(runTsne(X, n, dim, { signal: AbortSignal.abort() }), { name: 'AbortError' });

    // Bad input rejects before a worker starts.
    const created = WorkerShim.created;
    await assert.rejects(runTsne(X, n, dim + 1), /features has 1600 values, expected n × dim = 100 × 17 = 1700/);
    assert.equal(WorkerShim.created, created);
  } finally {
    delete globalThis.Worker;
  }
});
