//! Batch norm 2-D (training and evaluation mode), alone and followed by the ReLU the models fuse
//! into it, and the running statistics' update.

/// Training-mode batch norm: (y, batch mean, biased batch variance).
pub fn batch_norm(
    x: &[f64],
    xs: [usize; 4],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let [n, c, h, w] = xs;
    let hw = h * w;
    let m = (n * hw) as f64;
    let (mut mean, mut var) = (vec![0.0; c], vec![0.0; c]);
    let idx = |b: usize, ch: usize, i: usize| (b * c + ch) * hw + i;
    for ch in 0..c {
        mean[ch] = (0..n)
            .flat_map(|b| (0..hw).map(move |i| (b, i)))
            .map(|(b, i)| x[idx(b, ch, i)])
            .sum::<f64>()
            / m;
        var[ch] = (0..n)
            .flat_map(|b| (0..hw).map(move |i| (b, i)))
            .map(|(b, i)| (x[idx(b, ch, i)] - mean[ch]).powi(2))
            .sum::<f64>()
            / m;
    }
    let mut y = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..hw {
                y[idx(b, ch, i)] =
                    (x[idx(b, ch, i)] - mean[ch]) / (var[ch] + eps).sqrt() * gamma[ch] + beta[ch];
            }
        }
    }
    (y, mean, var)
}

/// (dx, dgamma, dbeta) of training-mode batch norm.
pub fn batch_norm_backward(
    x: &[f64],
    xs: [usize; 4],
    gamma: &[f64],
    eps: f64,
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let [n, c, h, w] = xs;
    let hw = h * w;
    let m = (n * hw) as f64;
    let (_, mean, var) = batch_norm(x, xs, gamma, &vec![0.0; c], eps);
    let idx = |b: usize, ch: usize, i: usize| (b * c + ch) * hw + i;
    let (mut dx, mut dg, mut db) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let rstd = 1.0 / (var[ch] + eps).sqrt();
        for b in 0..n {
            for i in 0..hw {
                db[ch] += dy[idx(b, ch, i)];
                dg[ch] += dy[idx(b, ch, i)] * (x[idx(b, ch, i)] - mean[ch]) * rstd;
            }
        }
        for b in 0..n {
            for i in 0..hw {
                let xhat = (x[idx(b, ch, i)] - mean[ch]) * rstd;
                dx[idx(b, ch, i)] =
                    gamma[ch] * rstd / m * (m * dy[idx(b, ch, i)] - db[ch] - xhat * dg[ch]);
            }
        }
    }
    (dx, dg, db)
}

/// Evaluation-mode batch norm with running statistics `mean`, `var`.
pub fn batch_norm_eval(
    x: &[f64],
    xs: [usize; 4],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
) -> Vec<f64> {
    let [_, c, h, w] = xs;
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            let ch = (i / (h * w)) % c;
            (v - mean[ch]) / (var[ch] + eps).sqrt() * gamma[ch] + beta[ch]
        })
        .collect()
}

/// ReLU after `y` when `relu` (the fused kernels' output), else `y`.
fn then_relu(y: Vec<f64>, relu: bool) -> Vec<f64> {
    if relu {
        super::relu(&y)
    } else {
        y
    }
}

/// Training-mode batch norm, then ReLU when `relu`: what the fused kernels compute.
pub fn batch_norm_relu(
    x: &[f64],
    xs: [usize; 4],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
    relu: bool,
) -> Vec<f64> {
    then_relu(batch_norm(x, xs, gamma, beta, eps).0, relu)
}

/// Evaluation-mode batch norm, then ReLU when `relu`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_relu_eval(
    x: &[f64],
    xs: [usize; 4],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
    relu: bool,
) -> Vec<f64> {
    then_relu(batch_norm_eval(x, xs, gamma, beta, mean, var, eps), relu)
}

/// (dx, dgamma, dbeta) of `batch_norm_relu`: ReLU's mask (output > 0) on dy, then batch norm's backward.
pub fn batch_norm_relu_backward(
    x: &[f64],
    xs: [usize; 4],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
    dy: &[f64],
    relu: bool,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dy = if relu {
        super::relu_backward(&batch_norm(x, xs, gamma, beta, eps).0, dy)
    } else {
        dy.to_vec()
    };
    batch_norm_backward(x, xs, gamma, eps, &dy)
}

/// The running statistics after one training forward over `m` values per channel, as PyTorch:
/// `(1 − momentum)·old + momentum·batch`, the variance unbiased.
pub fn batch_norm_running(
    (mean0, var0): (&[f64], &[f64]),
    (mean, var): (&[f64], &[f64]),
    m: usize,
    momentum: f64,
) -> (Vec<f64>, Vec<f64>) {
    let m = m as f64;
    let unbias = m / (m - 1.0).max(1.0);
    let update = |old: &[f64], new: &[f64], scale: f64| -> Vec<f64> {
        old.iter()
            .zip(new)
            .map(|(o, v)| (1.0 - momentum) * o + momentum * v * scale)
            .collect()
    };
    (update(mean0, mean, 1.0), update(var0, var, unbias))
}
