//! The kernels around the model: mixing and augmenting the batch, the SGD update.

use super::{f64s, Case, Ctx, Expect};
use crate::ops::augment::{augment as augment_op, Crop};
use crate::ops::mix::{mix as mix_op, MixDraw};
use crate::ops::sgd;
use crate::reference as r;

/// CutMix (α = 1) of a normalised batch (N, 3, 32, 32) with a drawn box and permutation: odd N3,
/// aligned N4, W1 N = batch; edges: mixup and CutMix at several α, one image up to five.
pub(super) fn mix(c: &mut Ctx) -> Option<Case> {
    const EDGES: &[(usize, bool, f32)] = &[
        (1, false, 1.0),
        (5, false, 0.4),
        (5, true, 1.0),
        (3, true, 0.2),
    ];
    let (n, cutmix, alpha) = c.pick((3, true, 1.0), (4, true, 1.0), EDGES, (c.batch, true, 1.0))?;
    let x = c.randn(n * 3072, 1.0);
    let x = c.act(x);
    let draw = MixDraw::draw(&mut c.rng, n, alpha, cutmix);
    let (xg, pg) = (c.up_act(&[n, 3, 32, 32], &x), c.up(&[n], &draw.perm));
    let want = c.want(|| vec![Expect::new("mixed", f64s(&r::mix(&x, &draw)))]);
    let mut shape = format!("N{n} 3x32x32");
    if c.is_edge() {
        let how = if cutmix { "cutmix" } else { "mixup" };
        shape += &format!(" {how} α{alpha}");
    }
    Some(Case {
        shape,
        flops: 0.0,
        bytes: 2.0 * xg.bytes() as f64,
        run: Box::new(move |rec| vec![mix_op(rec, &xg, &pg, &draw)]),
        want,
    })
}

/// One SGD update of a parameter vector (a finite loss: the kept copies take the weights and
/// momentum it started from): odd 1001, aligned 1024, edge 300, W1: SmallCNN's 152 644 parameters
/// at width 32 (convs 139 104 without bias, batch norms 640, classifier 12 900).
/// The SGD step, plain (`nesterov` false) or Nesterov.
pub(super) fn sgd(c: &mut Ctx, nesterov: bool) -> Option<Case> {
    let n = c.pick(1001, 1024, &[300], 152_644)?;
    let (w, g, v) = (c.randn(n, 1.0), c.randn(n, 1.0), c.randn(n, 1.0));
    let (wg, gg, vg) = (c.up(&[n], &w), c.up(&[n], &g), c.up(&[n], &v));
    let (kw, kv, loss, halted) = (
        c.up(&[n], &vec![0f32; n]),
        c.up(&[n], &vec![0f32; n]),
        c.up(&[4], &[1.5f32, 0.0, 0.0, 0.0]),
        c.up(&[1], &[0u32]),
    );
    let cfg = sgd::SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
        nesterov,
    };
    let want = c.want(|| {
        let (w, v) = (f64s(&w), f64s(&v));
        let (lr, momentum, wd) = (cfg.lr as f64, cfg.momentum as f64, cfg.weight_decay as f64);
        let (w2, v2) = r::sgd(&w, &f64s(&g), &v, lr, momentum, wd, nesterov);
        vec![
            Expect::new("weights", w2),
            Expect::new("velocity", v2),
            Expect::new("kept weights", w).tolerance(0.0),
            Expect::new("kept velocity", v).tolerance(0.0),
        ]
    });
    Some(Case {
        shape: format!("{n} parameters"),
        flops: 0.0,
        bytes: 7.0 * wg.bytes() as f64,
        run: Box::new(move |rec| {
            let kept = sgd::Kept {
                values: &kw,
                velocity: &kv,
                halted: &halted,
            };
            sgd::step(rec, &wg, &gg, &vg, &loss, kept, cfg);
            vec![wg.clone(), vg.clone(), kw.clone(), kv.clone()]
        }),
        want,
    })
}

/// Random crop + flip + normalisation of packed bytes, the first image not moved and the second
/// cut at a corner and flipped: odd N3, aligned N4, edge N5, W1 N = batch.
pub(super) fn augment(c: &mut Ctx) -> Option<Case> {
    let n = c.pick(3, 4, &[5], c.batch)?;
    let bytes_in: Vec<u8> = (0..n * 3072).map(|_| c.rng.below(256) as u8).collect();
    let mut crops: Vec<Crop> = (0..n).map(|_| Crop::random(&mut c.rng)).collect();
    crops[0] = Crop::NONE;
    if n > 1 {
        crops[1] = Crop {
            dy: -4,
            dx: 4,
            flip: true,
        };
    }
    let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes_in);
    let (src, cg) = (
        c.up(&[words.len()], &words),
        c.up(&[n * 3], &Crop::encode(&crops)),
    );
    let want = c.want(|| vec![Expect::new("images", f64s(&r::augment(&bytes_in, &crops)))]);
    Some(Case {
        shape: format!("N{n} 3x32x32"),
        flops: 0.0,
        bytes: 5.0 * src.bytes() as f64,
        run: Box::new(move |rec| vec![augment_op(rec, &src, &cg, n)]),
        want,
    })
}
