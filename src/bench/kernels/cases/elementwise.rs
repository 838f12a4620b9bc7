//! Element-wise kernels: ReLU forward and backward, addition.

use super::{act_shape, f64s, shape_name, Case, Ctx, Dir, Expect};
use crate::ops::elementwise;
use crate::reference as r;

/// Activation shapes; edges: flat vectors of 1, 255, 257 and 1000 values (around the 256-thread
/// workgroup).
fn shape(c: &Ctx) -> Option<([usize; 4], String)> {
    const EDGES: &[[usize; 4]] = &[
        [1, 1, 1, 1],
        [255, 1, 1, 1],
        [257, 1, 1, 1],
        [1000, 1, 1, 1],
    ];
    let xs = act_shape(c, EDGES)?;
    let name = if c.is_edge() {
        format!("{} values", xs[0])
    } else {
        shape_name(xs)
    };
    Some((xs, name))
}

pub(super) fn relu(c: &mut Ctx, dir: Dir) -> Option<Case> {
    let (xs, shape) = shape(c)?;
    let numel = xs.iter().product();
    let x = c.randn(numel, 1.0);
    let (x, dy) = (c.act(x), c.randn(numel, 1.0));
    let (xg, dyg) = (c.up_act(&xs, &x), c.up(&xs, &dy));
    let backward = dir == Dir::Input;
    let want = c.want(|| {
        let x = f64s(&x);
        let masks = numel > 1;
        vec![if backward {
            Expect::new("dx", r::relu_backward(&x, &f64s(&dy))).masks(masks)
        } else {
            Expect::new("y", r::relu(&x)).masks(masks)
        }]
    });
    Some(Case {
        shape,
        flops: 0.0,
        bytes: xg.bytes() as f64 * if backward { 3.0 } else { 2.0 },
        run: Box::new(move |rec| {
            vec![if backward {
                elementwise::relu_backward(rec, &xg, &dyg)
            } else {
                elementwise::relu_forward(rec, &xg)
            }]
        }),
        want,
    })
}

pub(super) fn add(c: &mut Ctx) -> Option<Case> {
    let (xs, shape) = shape(c)?;
    let numel = xs.iter().product();
    let a = c.randn(numel, 1.0);
    let (a, b) = (c.act(a), c.randn(numel, 1.0));
    let b = c.act(b);
    let (ag, bg) = (c.up_act(&xs, &a), c.up_act(&xs, &b));
    let want = c.want(|| vec![Expect::new("sum", r::add(&f64s(&a), &f64s(&b)))]);
    Some(Case {
        shape,
        flops: 0.0,
        bytes: 3.0 * ag.bytes() as f64,
        run: Box::new(move |rec| vec![elementwise::add(rec, &ag, &bg)]),
        want,
    })
}
