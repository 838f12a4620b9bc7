//! Batch norm, alone and fused with the ReLU after it (what the models run): train, eval, backward.

use super::{act_shape, f64s, shape_name, Case, Ctx, Dir, Expect};
use crate::gpu::Recorder;
use crate::ops::batchnorm::{self, EPS, MOMENTUM};
use crate::reference as r;

/// Train (Forward: output and running statistics), eval (Eval) or backward (Input: dx, dγ, dβ, the
/// statistics saved by one train forward), followed by ReLU in the same kernel when `relu`. Edges:
/// a single element per channel and batch, channels of odd sizes, and channels of many chunks
/// with a shorter last one in every family (see `batchnorm::Chunking`: 16 and 67 chunks of 256
/// threads on shared; on tiled and compact 4 and 17 chunks of a thread each), so that the merges run.
pub(super) fn bn(c: &mut Ctx, dir: Dir, relu: bool) -> Option<Case> {
    bn_case(c, dir, relu, false)
}

/// The backward as training runs it where the tape owns dy: dx written over dy
/// (`batchnorm::backward_in_place`), which each launch first copies (so the timing includes a
/// copy of dy).
pub(super) fn bn_backward_in_place(c: &mut Ctx, relu: bool) -> Option<Case> {
    bn_case(c, Dir::Input, relu, true)
}

fn bn_case(c: &mut Ctx, dir: Dir, relu: bool, in_place: bool) -> Option<Case> {
    const EDGES: &[[usize; 4]] = &[
        [2, 3, 4, 4],
        [1, 5, 3, 7],
        [7, 2, 9, 9],
        [3, 1, 1, 1],
        [4, 3, 33, 31],
        [8, 2, 45, 47],
    ];
    let xs = act_shape(c, EDGES)?;
    let (numel, ch) = (xs.iter().product::<usize>(), xs[1]);
    // An offset mean checks that the variance is computed centred; an offset per image makes the
    // chunks' means differ (chunks run along N·H·W), so that their merge counts.
    let per_image = numel / xs[0];
    let x: Vec<f32> = (c.randn(numel, 2.0).iter().enumerate())
        .map(|(i, v)| v + 30.0 + (i / per_image) as f32)
        .collect();
    let x = c.act(x);
    let (g, b, dy) = (c.randn(ch, 1.0), c.randn(ch, 0.1), c.randn(numel, 1.0));
    // Running means near each channel's mean, so that eval-mode ReLU masks some elements too (β
    // is small for the same reason).
    let hw = xs[2] * xs[3];
    let rm: Vec<f32> = (0..ch)
        .map(|i| {
            let values = (0..xs[0]).flat_map(|n| &x[(n * ch + i) * hw..][..hw]);
            values.sum::<f32>() / (xs[0] * hw) as f32 + 0.1 * c.rng.normal()
        })
        .collect();
    let rv: Vec<f32> = c.randn(ch, 0.1).iter().map(|v| 1.0 + v.abs()).collect();
    let (xg, gg, bg, dyg) = (
        c.up_act(&xs, &x),
        c.up(&[ch], &g),
        c.up(&[ch], &b),
        c.up(&xs, &dy),
    );
    let (rmg, rvg, health) = (c.up(&[ch], &rm), c.up(&[ch], &rv), c.up(&[1], &[0u32]));
    let eps = EPS as f64;
    let want = c.want(|| {
        let (x, g, b) = (f64s(&x), f64s(&g), f64s(&b));
        match dir {
            Dir::Forward => {
                let (_, mean, var) = r::batch_norm(&x, xs, &g, &b, eps);
                let m = xs[0] * xs[2] * xs[3];
                let (rm0, rv0) = (f64s(&rm), f64s(&rv));
                let momentum = MOMENTUM as f64;
                let (rm, rv) = r::batch_norm_running((&rm0, &rv0), (&mean, &var), m, momentum);
                vec![
                    Expect::new("y", r::batch_norm_relu(&x, xs, &g, &b, eps, relu)),
                    Expect::new("running_mean", rm).tolerance(1e-4),
                    Expect::new("running_var", rv),
                ]
            }
            Dir::Eval => {
                let (rm, rv) = (f64s(&rm), f64s(&rv));
                let y = r::batch_norm_relu_eval(&x, xs, &g, &b, &rm, &rv, eps, relu);
                vec![Expect::new("y", y).masks(relu)]
            }
            _ => {
                let (dx, dg, db) =
                    r::batch_norm_relu_backward(&x, xs, &g, &b, eps, &f64s(&dy), relu);
                vec![
                    Expect::new("dx", dx),
                    Expect::new("dgamma", dg).tolerance(1e-3),
                    Expect::new("dbeta", db).tolerance(1e-4),
                ]
            }
        }
    });
    let saved = (dir == Dir::Input).then(|| {
        let mut rec = Recorder::new(c.gpu, c.pool);
        batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rmg, &rvg), &health, relu).1
    });
    Some(Case {
        shape: shape_name(xs),
        flops: 0.0,
        bytes: 2.0 * xg.bytes() as f64 * if dir == Dir::Input { 1.5 } else { 1.0 },
        run: Box::new(move |rec| match (dir, &saved) {
            (Dir::Forward, _) => {
                let running = (&rmg, &rvg);
                let y = batchnorm::forward_train(rec, &xg, &gg, &bg, running, &health, relu).0;
                vec![y, rmg.clone(), rvg.clone()]
            }
            (Dir::Input, Some(saved)) if in_place => {
                let dy = rec.alloc(dyg.shape());
                rec.copy(&dyg, &dy);
                let (dx, dg, db) =
                    batchnorm::backward_in_place(rec, &xg, &dy, &gg, saved, (None, None));
                vec![dx, dg, db]
            }
            (Dir::Input, Some(saved)) => {
                let (dx, dg, db) = batchnorm::backward(rec, &xg, &dyg, &gg, saved, (None, None));
                vec![dx, dg, db]
            }
            _ => vec![batchnorm::forward_eval(
                rec,
                &xg,
                &gg,
                &bg,
                (&rmg, &rvg),
                relu,
            )],
        }),
        want,
    })
}
