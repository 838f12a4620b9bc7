// PCA pre-reduction for t-SNE: project the centred rows onto the top-k principal subspace, found by
// subspace iteration V ← orth(Xᵀ(X V)) from a seeded random start (never forms dim × dim).
// t-SNE only needs distances, and those are the same in any orthonormal basis of the subspace, so the
// components are not rotated to eigenvectors. Cost: 2 n·dim·k per iteration.
// Shapes: X row-major n × dim (centred copy, Float64Array); V k × dim (one component per row); out n × k.
import { gaussian, rng } from './random.js';

const ITERATIONS = 6;

/** Float64Array n × k of the rows of `data` (n × dim) in the top-k principal subspace (k < dim). */
export function pcaReduce(data, n, dim, k, seed = 1) {
  const x = new Float64Array(n * dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = data[i * dim + j] - mean[j];

  const normal = gaussian(rng(seed ^ 0x5eed));
  let v = new Float64Array(k * dim);
  for (let t = 0; t < v.length; t++) v[t] = normal();
  orthonormalize(v, k, dim);
  const xv = new Float64Array(n * k);
  for (let it = 0; it < ITERATIONS; it++) {
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
  project(x, n, dim, v, k, xv);
  return xv;
}

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
