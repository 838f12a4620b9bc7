//! Plain f64 CPU references of every kernel: the definitions the GPU is checked against, by the
//! tests (`tests/common/reference.rs` re-exports this module) and by `cskd bench` (W2 and `bench kernels`).
//! Shape legend: N batch, C/K channels in/out, H/W spatial, B rows, K classes, T temperature.

/// Convolution, zero padding. x (N,C,H,W), w (K,C,S,S) → (N,K,OH,OW).
pub fn conv2d(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    k: usize,
    s: usize,
    stride: usize,
    pad: usize,
) -> Vec<f64> {
    let [n, c, h, wd] = xs;
    let (oh, ow) = (
        (h + 2 * pad - s) / stride + 1,
        (wd + 2 * pad - s) / stride + 1,
    );
    let mut y = vec![0.0; n * k * oh * ow];
    for b in 0..n {
        for o in 0..k {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0;
                    for ci in 0..c {
                        for r in 0..s {
                            for t in 0..s {
                                let iy = (oy * stride + r) as isize - pad as isize;
                                let ix = (ox * stride + t) as isize - pad as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    acc += x[((b * c + ci) * h + iy as usize) * wd + ix as usize]
                                        * w[((o * c + ci) * s + r) * s + t];
                                }
                            }
                        }
                    }
                    y[((b * k + o) * oh + oy) * ow + ox] = acc;
                }
            }
        }
    }
    y
}

/// Vector-Jacobian product of conv2d: (dx, dw) for output gradient dy.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    k: usize,
    s: usize,
    stride: usize,
    pad: usize,
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let [n, c, h, wd] = xs;
    let (oh, ow) = (
        (h + 2 * pad - s) / stride + 1,
        (wd + 2 * pad - s) / stride + 1,
    );
    let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    for b in 0..n {
        for o in 0..k {
            for oy in 0..oh {
                for ox in 0..ow {
                    let g = dy[((b * k + o) * oh + oy) * ow + ox];
                    for ci in 0..c {
                        for r in 0..s {
                            for t in 0..s {
                                let iy = (oy * stride + r) as isize - pad as isize;
                                let ix = (ox * stride + t) as isize - pad as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    let xi = ((b * c + ci) * h + iy as usize) * wd + ix as usize;
                                    let wi = ((o * c + ci) * s + r) * s + t;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw)
}

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

/// 2×2 max pooling, stride 2.
pub fn max_pool2(x: &[f64], xs: [usize; 4]) -> Vec<f64> {
    let [n, c, h, w] = xs;
    let (oh, ow) = (h / 2, w / 2);
    let mut y = vec![0.0; n * c * oh * ow];
    for p in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let at = |dy: usize, dx: usize| x[p * h * w + (2 * oy + dy) * w + 2 * ox + dx];
                y[(p * oh + oy) * ow + ox] = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
            }
        }
    }
    y
}

/// Non-overlapping win×win average pooling.
pub fn avg_pool(x: &[f64], xs: [usize; 4], win: usize) -> Vec<f64> {
    let [n, c, h, w] = xs;
    let (oh, ow) = (h / win, w / win);
    let mut y = vec![0.0; n * c * oh * ow];
    for p in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut s = 0.0;
                for r in 0..win {
                    for t in 0..win {
                        s += x[p * h * w + (oy * win + r) * w + ox * win + t];
                    }
                }
                y[(p * oh + oy) * ow + ox] = s / (win * win) as f64;
            }
        }
    }
    y
}

fn log_softmax(z: &[f64], t: f64) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / t;
    let lse = m + z.iter().map(|v| (v / t - m).exp()).sum::<f64>().ln();
    z.iter().map(|v| v / t - lse).collect()
}

/// (1 − ε)·onehot(label) + ε/K at class j.
fn smoothed_target(j: usize, label: u32, k: usize, eps: f64) -> f64 {
    eps / k as f64 + if j == label as usize { 1.0 - eps } else { 0.0 }
}

/// The CS-KD loss written plainly from docs/ALGORITHM.md: (L, mean CE, mean T²·KL).
pub fn cskd_loss(
    za: &[f64],
    zp: Option<&[f64]>,
    labels: &[u32],
    k: usize,
    t: f64,
    lambda: f64,
    eps: f64,
) -> (f64, f64, f64) {
    let b = labels.len();
    let (mut ce, mut kl) = (0.0, 0.0);
    for r in 0..b {
        let la = log_softmax(&za[r * k..(r + 1) * k], 1.0);
        for j in 0..k {
            let target = smoothed_target(j, labels[r], k, eps);
            ce -= target * la[j];
        }
        if let Some(zp) = zp {
            let lp = log_softmax(&za[r * k..(r + 1) * k], t);
            let lq = log_softmax(&zp[r * k..(r + 1) * k], t);
            kl += (0..k).map(|j| lq[j].exp() * (lq[j] - lp[j])).sum::<f64>();
        }
    }
    let (ce, kl) = (ce / b as f64, t * t * kl / b as f64);
    (ce + lambda * kl, ce, kl)
}

/// The gradient formula of docs/ALGORITHM.md: (softmax(za) − target)/B + λ·T·(p − q)/B.
pub fn cskd_grad(
    za: &[f64],
    zp: Option<&[f64]>,
    labels: &[u32],
    k: usize,
    t: f64,
    lambda: f64,
    eps: f64,
) -> Vec<f64> {
    let b = labels.len();
    let mut g = vec![0.0; za.len()];
    for r in 0..b {
        let la = log_softmax(&za[r * k..(r + 1) * k], 1.0);
        for j in 0..k {
            let target = smoothed_target(j, labels[r], k, eps);
            g[r * k + j] = (la[j].exp() - target) / b as f64;
        }
        if let Some(zp) = zp {
            let lp = log_softmax(&za[r * k..(r + 1) * k], t);
            let lq = log_softmax(&zp[r * k..(r + 1) * k], t);
            for j in 0..k {
                g[r * k + j] += lambda * t * (lp[j].exp() - lq[j].exp()) / b as f64;
            }
        }
    }
    g
}

/// The soft-target loss of docs/METHODS.md, written plainly: weights of every term.
#[derive(Clone, Copy, Debug)]
pub struct Soft {
    pub t: f64,
    pub lambda: f64,
    pub eps: f64,
    pub t_kd: f64,
    pub lambda_kd: f64,
    /// Weight of y in the mixed label (1 = no mixing).
    pub mix: f64,
    /// PS-KD weight of the previous prediction.
    pub alpha: f64,
}

/// Row targets: (1 − ε)·[(1 − α)·(m·onehot(y) + (1 − m)·onehot(y_b)) + α·prev[idx]] + ε/K.
/// `info` holds (y, y_b, idx) per row; `prev` is (N, K) or empty (α unused).
pub fn soft_targets(info: &[u32], prev: Option<&[f64]>, k: usize, c: Soft) -> Vec<f64> {
    let b = info.len() / 3;
    let mut t = vec![0.0; b * k];
    for r in 0..b {
        let (y, yb, idx) = (
            info[3 * r] as usize,
            info[3 * r + 1] as usize,
            info[3 * r + 2] as usize,
        );
        for j in 0..k {
            let hard = c.mix * (j == y) as u8 as f64 + (1.0 - c.mix) * (j == yb) as u8 as f64;
            let soft = match prev {
                Some(p) => (1.0 - c.alpha) * hard + c.alpha * p[idx * k + j],
                None => hard,
            };
            t[r * k + j] = (1.0 - c.eps) * soft + c.eps / k as f64;
        }
    }
    t
}

/// (L, mean CE, L − mean CE) with CE against `targets`, the class-wise KL to `zp` and KD to `zt`.
pub fn soft_loss(
    za: &[f64],
    zp: Option<&[f64]>,
    zt: Option<&[f64]>,
    targets: &[f64],
    k: usize,
    c: Soft,
) -> (f64, f64, f64) {
    let b = za.len() / k;
    let kl = |z: &[f64], r: usize, t: f64| {
        let lp = log_softmax(&za[r * k..(r + 1) * k], t);
        let lq = log_softmax(&z[r * k..(r + 1) * k], t);
        t * t * (0..k).map(|j| lq[j].exp() * (lq[j] - lp[j])).sum::<f64>()
    };
    let (mut ce, mut reg) = (0.0, 0.0);
    for r in 0..b {
        let la = log_softmax(&za[r * k..(r + 1) * k], 1.0);
        ce -= (0..k).map(|j| targets[r * k + j] * la[j]).sum::<f64>();
        if let Some(zp) = zp {
            reg += c.lambda * kl(zp, r, c.t);
        }
        if let Some(zt) = zt {
            reg += c.lambda_kd * kl(zt, r, c.t_kd);
        }
    }
    let (ce, reg) = (ce / b as f64, reg / b as f64);
    (ce + reg, ce, reg)
}

/// dL/dza of `soft_loss`: (softmax(za) − t + λT(p_T − q) + λk·Tk·(p_Tk − r))/B.
pub fn soft_grad(
    za: &[f64],
    zp: Option<&[f64]>,
    zt: Option<&[f64]>,
    targets: &[f64],
    k: usize,
    c: Soft,
) -> Vec<f64> {
    let b = za.len() / k;
    let mut g = vec![0.0; za.len()];
    for r in 0..b {
        let row = r * k..(r + 1) * k;
        let la = log_softmax(&za[row.clone()], 1.0);
        for j in 0..k {
            g[r * k + j] = (la[j].exp() - targets[r * k + j]) / b as f64;
        }
        for (z, t, w) in [(zp, c.t, c.lambda), (zt, c.t_kd, c.lambda_kd)] {
            if let Some(z) = z {
                let lp = log_softmax(&za[row.clone()], t);
                let lq = log_softmax(&z[row.clone()], t);
                for j in 0..k {
                    g[r * k + j] += w * t * (lp[j].exp() - lq[j].exp()) / b as f64;
                }
            }
        }
    }
    g
}

/// Row-wise softmax (what PS-KD keeps for the next epoch).
pub fn softmax_rows(z: &[f64], k: usize) -> Vec<f64> {
    z.chunks(k)
        .flat_map(|row| log_softmax(row, 1.0).into_iter().map(f64::exp))
        .collect()
}

/// Gradient of `max_pool2`: each window's dy goes to its largest input (the first, on ties).
pub fn max_pool2_backward(x: &[f64], xs: [usize; 4], dy: &[f64]) -> Vec<f64> {
    let [n, c, h, w] = xs;
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0.0; x.len()];
    for p in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let at = |r: usize, t: usize| p * h * w + (2 * oy + r) * w + 2 * ox + t;
                let best = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .into_iter()
                    .map(|(r, t)| at(r, t))
                    .fold(at(0, 0), |b, i| if x[i] > x[b] { i } else { b });
                dx[best] += dy[(p * oh + oy) * ow + ox];
            }
        }
    }
    dx
}

/// Gradient of `avg_pool`: each window's dy spread evenly over its inputs.
pub fn avg_pool_backward(xs: [usize; 4], win: usize, dy: &[f64]) -> Vec<f64> {
    let [n, c, h, w] = xs;
    let (oh, ow) = (h / win, w / win);
    let mut dx = vec![0.0; n * c * h * w];
    for p in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                for r in 0..win {
                    for t in 0..win {
                        dx[p * h * w + (oy * win + r) * w + ox * win + t] +=
                            dy[(p * oh + oy) * ow + ox] / (win * win) as f64;
                    }
                }
            }
        }
    }
    dx
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
