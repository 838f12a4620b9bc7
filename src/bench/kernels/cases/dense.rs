//! The matrix product and the classifier's linear layer.

use super::{bytes, f64s, Case, Ctx, Dir, Expect};
use crate::ops::linear;
use crate::reference as r;

/// C = A·B (M×K·K×N). Odd 13×17·17×11, aligned 16×20·20×12; edges from 1×1·1×1 to several 64-wide
/// tiles; W1 size: 256³ (W1's only matmuls are the tiny classifier's).
pub(super) fn matmul(c: &mut Ctx) -> Option<Case> {
    const EDGES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (5, 3, 9),
        (33, 65, 17),
        (70, 20, 66),
        (64, 32, 48),
        (130, 37, 70),
    ];
    let (m, k, n) = c.pick((13, 17, 11), (16, 20, 12), EDGES, (256, 256, 256))?;
    let (a, b) = (c.randn(m * k, 1.0), c.randn(k * n, 1.0));
    let (ag, bg) = (c.up(&[m, k], &a), c.up(&[k, n], &b));
    let want = c.want(|| vec![Expect::new("c", r::matmul(&f64s(&a), m, k, &f64s(&b), n))]);
    Some(Case {
        shape: format!("{m}x{k}x{n}"),
        flops: 2.0 * (m * n * k) as f64,
        bytes: bytes(&[&ag, &bg]) + (m * n * 4) as f64,
        run: Box::new(move |rec| vec![linear::matmul(rec, &ag, &bg)]),
        want,
    })
}

/// The classifier: x (N, I) → (N, O). Odd N7 I13 O5, aligned N8 I16 O12; W1: N = batch, 128 → 100.
pub(super) fn linear(c: &mut Ctx, dir: Dir) -> Option<Case> {
    const EDGES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (3, 7, 5),
        (17, 33, 10),
        (64, 128, 100),
        (5, 70, 67),
    ];
    let (n, i, o) = c.pick((7, 13, 5), (8, 16, 12), EDGES, (c.batch, 128, 100))?;
    let (x, w, b, dy) = (
        c.randn(n * i, 1.0),
        c.randn(o * i, 0.3),
        c.randn(o, 1.0),
        c.randn(n * o, 1.0),
    );
    let (xg, wg, bg, dyg) = (
        c.up(&[n, i], &x),
        c.up(&[o, i], &w),
        c.up(&[o], &b),
        c.up(&[n, o], &dy),
    );
    let want = c.want(|| {
        let (x, w) = (f64s(&x), f64s(&w));
        if dir == Dir::Forward {
            return vec![Expect::new("y", r::linear(&x, n, i, &w, o, &f64s(&b)))];
        }
        let (dx, dw, db) = r::linear_backward(&x, n, i, &w, o, &f64s(&dy));
        vec![match dir {
            Dir::Input => Expect::new("dx", dx),
            Dir::Weight => Expect::new("dw", dw),
            _ => Expect::new("db", db),
        }]
    });
    let traffic = bytes(&[&xg, &wg, &dyg]);
    Some(Case {
        shape: format!("N{n} I{i} O{o}"),
        flops: if dir == Dir::Bias {
            0.0
        } else {
            2.0 * (n * i * o) as f64
        },
        bytes: traffic,
        run: Box::new(move |rec| {
            vec![match dir {
                Dir::Forward => linear::forward(rec, &xg, &wg, Some(&bg)),
                Dir::Input => linear::backward_input(rec, &dyg, &wg),
                Dir::Weight => linear::backward_weight(rec, &dyg, &xg, None),
                _ => linear::backward_bias(rec, &dyg, None),
            }]
        }),
        want,
    })
}
