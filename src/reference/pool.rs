//! Pooling: 2×2 max and win×win average, forward and backward.

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
