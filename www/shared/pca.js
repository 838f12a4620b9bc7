// PCA of row-major features (n × dim), the one implementation for the page's 2-D maps (pca2, run in
// the training worker) and t-SNE's pre-reduction (pcaReduce). Both find the top-k principal subspace
// by subspace iteration V ← orth(Xᵀ(X V)) on the centred data from a seeded random start, never forming
// anything dim × dim (cost 2 n·dim·k per iteration). Deterministic: the same input gives the same output
// in every browser and in Node.
// Shapes: X row-major n × dim (centred copy, Float64Array); V k × dim (one component per row); out n × k.
import { gaussian, rng } from './random.js';

/** Iterations of pcaReduce: t-SNE only needs the subspace roughly (distances within it are exact). */
const REDUCE_ITERATIONS = 6;

/**
 * Float64Array n × k of the rows of `data` (n × dim) in the top-k principal subspace (k < dim).
 * t-SNE only needs distances, and those are the same in any orthonormal basis of the subspace, so the
 * components are not rotated to eigenvectors.
 */
export function pcaReduce(data, n, dim, k, seed = 1) {
  const { x } = centre(data, n, dim);
  const v = subspace(x, n, dim, k, REDUCE_ITERATIONS, seed);
  const out = new Float64Array(n * k);
  project(x, n, dim, v, k, out);
  return out;
}

/**
 * The 2-D PCA map: { coords: Float32Array(n*2), variance: [λ1, λ2], total } (variances of the centred
 * data; total = the sum over all dim directions). Non-finite values count as the column's mean.
 * The top-2 subspace is rotated onto the eigenvectors (Rayleigh–Ritz), so PC1 carries λ1 ≥ λ2.
 */
export function pca2(data, n, dim, iterations = 60, seed = 1) {
  const { x, total } = centre(data, n, dim);
  const k = Math.min(2, dim);
  const v = subspace(x, n, dim, k, iterations, seed);
  // B = Vᵀ C V (C the covariance Xᵀ X / (n − 1)), k × k.
  const xv = new Float64Array(n * k);
  project(x, n, dim, v, k, xv);
  const b = [[0, 0], [0, 0]];
  for (let a = 0; a < k; a++) {
    for (let c = a; c < k; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += xv[i * k + a] * xv[i * k + c];
      b[a][c] = b[c][a] = s / Math.max(1, n - 1);
    }
  }
  // Eigenvectors of the symmetric 2 × 2 B: a rotation by θ = ½·atan2(2 b01, b00 − b11).
  const theta = k === 2 ? 0.5 * Math.atan2(2 * b[0][1], b[0][0] - b[1][1]) : 0;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const variance = [
    cos * cos * b[0][0] + 2 * sin * cos * b[0][1] + sin * sin * b[1][1],
    sin * sin * b[0][0] - 2 * sin * cos * b[0][1] + cos * cos * b[1][1],
  ].map((l) => Math.max(0, l));
  const coords = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const p = xv[i * k], q = k === 2 ? xv[i * k + 1] : 0;
    coords[i * 2] = cos * p + sin * q;
    coords[i * 2 + 1] = -sin * p + cos * q;
  }
  return { coords, variance, total };
}

/** Centred Float64Array copy of the rows (non-finite values → 0, the column's mean) and its total variance. */
function centre(data, n, dim) {
  const x = new Float64Array(n * dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= Math.max(1, n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const v = data[i * dim + j] - mean[j];
      x[i * dim + j] = Number.isFinite(v) ? v : 0;
      total += x[i * dim + j] ** 2;
    }
  }
  return { x, total: total / Math.max(1, n - 1) };
}

/** k × dim orthonormal basis of the top-k principal subspace of the centred x (n × dim). */
function subspace(x, n, dim, k, iterations, seed) {
  const normal = gaussian(rng(seed ^ 0x5eed));
  let v = new Float64Array(k * dim);
  for (let t = 0; t < v.length; t++) v[t] = normal();
  orthonormalize(v, k, dim);
  const xv = new Float64Array(n * k);
  for (let it = 0; it < iterations; it++) {
    project(x, n, dim, v, k, xv);
    const w = new Float64Array(k * dim); // w_c = Σ_i (X v_c)_i x_i
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      for (let c = 0; c < k; c++) {
        const s = xv[i * k + c];
        const wc = c * dim;
        for (let j = 0; j < dim; j++) w[wc + j] += s * x[row + j];
      }
    }
    orthonormalize(w, k, dim);
    v = w;
  }
  return v;
}

/** out (n × k) = x (n × dim) · vᵀ (v k × dim). */
function project(x, n, dim, v, k, out) {
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let c = 0; c < k; c++) {
      let s = 0;
      const vc = c * dim;
      for (let j = 0; j < dim; j++) s += x[row + j] * v[vc + j];
      out[i * k + c] = s;
    }
  }
}

// Modified Gram–Schmidt on the k rows of v; a row that collapses (rank-deficient data) becomes a unit
// vector orthogonal to the others, so the basis stays orthonormal and distances stay exact.
function orthonormalize(v, k, dim) {
  for (let c = 0; c < k; c++) {
    const vc = c * dim;
    for (let attempt = 0; attempt <= dim; attempt++) {
      for (let b = 0; b < c; b++) {
        const vb = b * dim;
        let d = 0;
        for (let j = 0; j < dim; j++) d += v[vc + j] * v[vb + j];
        for (let j = 0; j < dim; j++) v[vc + j] -= d * v[vb + j];
      }
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += v[vc + j] * v[vc + j];
      norm = Math.sqrt(norm);
      if (norm > 1e-10) { for (let j = 0; j < dim; j++) v[vc + j] /= norm; break; }
      v.fill(0, vc, vc + dim);
      v[vc + ((c + attempt) % dim)] = 1; // try the next axis
    }
  }
}
