//! Convolutions: forward, input gradient and weight gradient of 3×3 stride 1, 3×3 stride 2 and 1×1.

use super::{bytes, f64s, Case, Ctx, Dir, Expect};
use crate::ops::conv2d::{self, ConvShape};
use crate::reference as r;

const fn edge(
    (n, c, h, w): (usize, usize, usize, usize),
    k: usize,
    ks: usize,
    stride: usize,
    pad: usize,
) -> ConvShape {
    ConvShape {
        n,
        c,
        h,
        w,
        k,
        ks,
        stride,
        pad,
    }
}

/// The edge cases, each run by the kernels of its kernel size and stride (1×1 at either stride):
/// pads 1 and 0, sizes that are not multiples of 4 or of the workgroup, odd spatial sizes; K = 70
/// spans several 64-wide GEMM tiles in every view (and several weight-gradient splits); the last
/// two have rows of 16 columns and more (the compact family's 16-column kernels).
pub const CONV_EDGES: &[ConvShape] = &[
    edge((2, 3, 7, 9), 5, 3, 1, 1),
    edge((2, 3, 7, 9), 5, 3, 1, 0),
    edge((1, 5, 7, 9), 6, 3, 2, 1),
    edge((1, 3, 9, 7), 5, 3, 2, 0),
    edge((3, 4, 6, 5), 3, 1, 1, 0),
    edge((2, 6, 9, 7), 9, 1, 2, 0),
    edge((2, 8, 10, 10), 8, 3, 1, 1),
    edge((2, 9, 11, 13), 70, 3, 1, 1),
    edge((1, 3, 5, 19), 6, 3, 1, 1),
    edge((2, 2, 4, 18), 5, 3, 1, 0),
];

/// Odd: N3 C5 K7 9×19 (wider than 16: the compact family's widest tile); aligned: N2 C8 K8 8×8.
/// W1: SmallCNN's 32→32 3×3 at 32×32; stride 2: 32→64 at 32×32; 1×1: 64→128 at 8×8 (ResNet-like
/// shapes, as W1's net has neither).
pub(super) fn conv(c: &mut Ctx, ks: usize, stride: usize, dir: Dir) -> Option<Case> {
    let edges: Vec<ConvShape> = CONV_EDGES
        .iter()
        .filter(|e| e.ks == ks && (ks == 1 || e.stride == stride))
        .copied()
        .collect();
    let w1 = match (ks, stride) {
        (3, 1) => edge((c.batch, 32, 32, 32), 32, 3, 1, 1),
        (3, _) => edge((c.batch, 32, 32, 32), 64, 3, 2, 1),
        _ => edge((c.batch, 64, 8, 8), 128, 1, 1, 0),
    };
    let s = c.pick(
        edge((3, 5, 9, 19), 7, ks, stride, ks / 2),
        edge((2, 8, 8, 8), 8, ks, stride, ks / 2),
        &edges,
        w1,
    )?;
    let ConvShape {
        n, c: ci, h, w, k, ..
    } = s;
    let x = c.randn(n * ci * h * w, 1.0);
    let (x, wt) = (c.act(x), c.randn(k * ci * ks * ks, 0.3));
    let dy = c.randn(s.out_shape().iter().product(), 1.0);
    let (xg, wg, dyg) = (
        c.up_act(&[n, ci, h, w], &x),
        c.up(&[k, ci, ks, ks], &wt),
        c.up(&s.out_shape(), &dy),
    );
    let want = c.want(|| {
        let (x, wt, dy) = (f64s(&x), f64s(&wt), f64s(&dy));
        let xs = [n, ci, h, w];
        vec![match dir {
            Dir::Forward => Expect::new("y", r::conv2d(&x, xs, &wt, k, ks, s.stride, s.pad))
                .shaped(&s.out_shape()),
            _ => {
                let (dx, dw) = r::conv2d_backward(&x, xs, &wt, k, ks, s.stride, s.pad, &dy);
                if dir == Dir::Input {
                    Expect::new("dx", dx)
                } else {
                    Expect::new("dw", dw)
                }
            }
        }]
    });
    let mut shape = format!("N{n} C{ci} K{k} {h}x{w}");
    if c.is_edge() {
        shape += &format!(" stride {} pad {}", s.stride, s.pad);
    }
    let traffic = bytes(&[&xg, &wg, &dyg]);
    Some(Case {
        shape,
        run: Box::new(move |rec| {
            vec![match dir {
                Dir::Forward => conv2d::forward(rec, &xg, &wg, s.stride, s.pad),
                Dir::Input => conv2d::backward_input(rec, &s, &dyg, &wg),
                _ => conv2d::backward_weight(rec, &s, &dyg, &xg, None),
            }]
        }),
        want,
        flops: 2.0 * s.macs() as f64,
        bytes: traffic,
    })
}
