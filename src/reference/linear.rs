//! The classifier's linear layer and the plain matrix product.

/// y = x·Wᵀ + b; x (N,I), w (O,I).
pub fn linear(x: &[f64], n: usize, i: usize, w: &[f64], o: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n * o];
    for r in 0..n {
        for c in 0..o {
            y[r * o + c] = b[c] + (0..i).map(|j| x[r * i + j] * w[c * i + j]).sum::<f64>();
        }
    }
    y
}

/// (dx, dw, db) of linear.
pub fn linear_backward(
    x: &[f64],
    n: usize,
    i: usize,
    w: &[f64],
    o: usize,
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut dx, mut dw, mut db) = (vec![0.0; n * i], vec![0.0; o * i], vec![0.0; o]);
    for r in 0..n {
        for c in 0..o {
            let g = dy[r * o + c];
            db[c] += g;
            for j in 0..i {
                dx[r * i + j] += g * w[c * i + j];
                dw[c * i + j] += g * x[r * i + j];
            }
        }
    }
    (dx, dw, db)
}

/// C = A·B; a (M,K), b (K,N).
pub fn matmul(a: &[f64], m: usize, k: usize, b: &[f64], n: usize) -> Vec<f64> {
    (0..m * n)
        .map(|e| (0..k).map(|t| a[(e / n) * k + t] * b[t * n + e % n]).sum())
        .collect()
}
