//! Pooling: 2×2 max (as SmallCNN) and average over win×win windows, forward and backward.

use super::{act_shape, f64s, shape_name, Case, Ctx, Dir, Expect, Shape};
use crate::ops::pool;
use crate::reference as r;

/// Activation shapes over 2×2 windows; edges: odd sides (the last row or column left out) and, for
/// the average, a window as large as the image (global pooling).
pub(super) fn pool(c: &mut Ctx, avg: bool, dir: Dir) -> Option<Case> {
    const SHAPES: [[usize; 4]; 3] = [[2, 3, 4, 4], [1, 2, 5, 7], [3, 5, 8, 8]];
    let edges: Vec<([usize; 4], usize)> = SHAPES
        .iter()
        .flat_map(|&xs| {
            [(xs, 2)]
                .into_iter()
                .chain(avg.then_some((xs, xs[2].min(xs[3]))))
        })
        .collect();
    let (xs, win) = match c.shape {
        Shape::Edge(i) => *edges.get(i)?,
        _ => (act_shape(c, &[])?, 2),
    };
    let backward = dir == Dir::Input;
    let x = c.randn(xs.iter().product(), 1.0);
    let x = c.act(x);
    let ys = [xs[0], xs[1], xs[2] / win, xs[3] / win];
    let dy = c.randn(ys.iter().product(), 1.0);
    let (xg, dyg) = (c.up_act(&xs, &x), c.up(&ys, &dy));
    let want = c.want(|| {
        let (x, dy) = (f64s(&x), f64s(&dy));
        vec![match (avg, backward) {
            (false, false) => Expect::new("y", r::max_pool2(&x, xs)),
            (false, true) => Expect::new("dx", r::max_pool2_backward(&x, xs, &dy)),
            (true, false) => Expect::new("y", r::avg_pool(&x, xs, win)),
            (true, true) => Expect::new("dx", r::avg_pool_backward(xs, win, &dy)),
        }]
    });
    let mut shape = shape_name(xs);
    if win != 2 {
        shape += &format!(" window {win}");
    }
    Some(Case {
        shape,
        flops: 0.0,
        bytes: xg.bytes() as f64 * if backward { 2.25 } else { 1.25 },
        run: Box::new(move |rec| {
            vec![match (avg, backward) {
                (false, false) => pool::max_forward(rec, &xg),
                (false, true) => pool::max_backward(rec, &xg, &dyg),
                (true, false) => pool::avg_forward(rec, &xg, win),
                (true, true) => pool::avg_backward(rec, &xs, &dyg, win),
            }]
        }),
        want,
    })
}
