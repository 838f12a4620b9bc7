//! The optimiser.

/// One step of torch.optim.SGD (momentum, weight decay): (new weights, new velocity).
pub fn sgd(
    w: &[f64],
    g: &[f64],
    v: &[f64],
    lr: f64,
    momentum: f64,
    wd: f64,
) -> (Vec<f64>, Vec<f64>) {
    let v: Vec<f64> = (0..w.len())
        .map(|i| momentum * v[i] + g[i] + wd * w[i])
        .collect();
    let w = (0..w.len()).map(|i| w[i] - lr * v[i]).collect();
    (w, v)
}
