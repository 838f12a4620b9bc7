// 2-D PCA of row-major features (n × dim) with power iterations on the covariance, computed
// implicitly as Xᵀ(X v) so nothing dim × dim is formed. Deterministic (fixed start vectors).

/** Returns { coords: Float32Array(n*2), variance: [λ1, λ2], total } (variances of the centred data). */
export function pca2(data, n, dim, iterations = 60) {
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
  total /= Math.max(1, n - 1);

  const xv = new Float64Array(n);
  // w = Xᵀ X v / (n-1)
  const covTimes = (v, w) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * dim;
      for (let j = 0; j < dim; j++) s += x[row + j] * v[j];
      xv[i] = s;
    }
    w.fill(0);
    for (let i = 0; i < n; i++) {
      const s = xv[i];
      if (s === 0) continue;
      const row = i * dim;
      for (let j = 0; j < dim; j++) w[j] += x[row + j] * s;
    }
    for (let j = 0; j < dim; j++) w[j] /= Math.max(1, n - 1);
  };
  const norm = (v) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const orthogonalize = (v, against) => {
    for (const u of against) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += v[j] * u[j];
      for (let j = 0; j < dim; j++) v[j] -= d * u[j];
    }
  };

  const components = [];
  const variance = [];
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(dim);
    for (let j = 0; j < dim; j++) v[j] = Math.sin(12.9898 * (j + 1) * (c + 1)) + 0.01 * (c + 1); // fixed pseudo-random start
    orthogonalize(v, components);
    let nv = norm(v);
    if (nv === 0) { v[c % dim] = 1; nv = 1; }
    for (let j = 0; j < dim; j++) v[j] /= nv;
    let w = new Float64Array(dim);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      covTimes(v, w);
      orthogonalize(w, components);
      lambda = norm(w);
      if (lambda < 1e-12) break;
      for (let j = 0; j < dim; j++) w[j] /= lambda;
      [v, w] = [w, v];
    }
    components.push(v);
    variance.push(lambda);
  }

  const coords = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      const u = components[c];
      for (let j = 0; j < dim; j++) s += x[i * dim + j] * u[j];
      coords[i * 2 + c] = s;
    }
  }
  return { coords, variance, total };
}
