//! The optimiser.

/// One step of torch.optim.SGD (momentum, weight decay, dampening 0; Nesterov when asked):
/// d = g + wd·w, v ← μ·v + d, w ← w − lr·v (Nesterov: w ← w − lr·(d + μ·v)).
/// Returns (new weights, new velocity).
pub fn sgd(
    w: &[f64],
    g: &[f64],
    v: &[f64],
    lr: f64,
    momentum: f64,
    wd: f64,
    nesterov: bool,
) -> (Vec<f64>, Vec<f64>) {
    let d: Vec<f64> = (0..w.len()).map(|i| g[i] + wd * w[i]).collect();
    let v: Vec<f64> = (0..w.len()).map(|i| momentum * v[i] + d[i]).collect();
    let step = |i: usize| {
        if nesterov {
            d[i] + momentum * v[i]
        } else {
            v[i]
        }
    };
    let w = (0..w.len()).map(|i| w[i] - lr * step(i)).collect();
    (w, v)
}
