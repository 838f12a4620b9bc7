//! Convolution: forward and its vector-Jacobian product.

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
