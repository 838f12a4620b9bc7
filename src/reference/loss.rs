//! The losses: the fused CS-KD loss (CE, label smoothing, the class-wise KL) and the soft-target
//! loss (mixup/CutMix, PS-KD, KD), with their gradients; row-wise softmax.

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

/// PS-KD's prediction buffer after a step: the batch's rows (`info`'s image indices) hold
/// softmax(za), every other row is kept.
pub fn pskd_update(prev: &[f64], info: &[u32], za: &[f64], k: usize) -> Vec<f64> {
    let sm = softmax_rows(za, k);
    let mut out = prev.to_vec();
    for (row, chunk) in sm.chunks(k).enumerate() {
        let idx = info[3 * row + 2] as usize;
        out[idx * k..(idx + 1) * k].copy_from_slice(chunk);
    }
    out
}

impl Soft {
    /// The weights of a kernel configuration.
    pub fn of(c: &crate::ops::soft_loss::SoftLossConfig) -> Soft {
        Soft {
            t: c.temperature as f64,
            lambda: c.lambda as f64,
            eps: c.smoothing as f64,
            t_kd: c.kd_temperature as f64,
            lambda_kd: c.kd_lambda as f64,
            mix: c.mix as f64,
            alpha: c.alpha as f64,
        }
    }
}
