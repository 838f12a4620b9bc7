//! The losses (the fused CS-KD loss, the soft-target loss) and the row softmax.

use super::{bytes, f64s, Case, Ctx, Expect, Shape};
use crate::ops::loss::{cskd_loss, LossConfig};
use crate::ops::soft_loss::{soft_loss, SoftLossConfig};
use crate::ops::softmax;
use crate::reference as r;

/// Logits: odd B7 K13, aligned B8 K16; W1: B = batch, 100 classes.
fn logits_shape(c: &Ctx) -> (usize, usize) {
    match c.shape {
        Shape::Aligned => (8, 16),
        Shape::W1 => (c.batch, 100),
        _ => (7, 13),
    }
}

/// Sizes of the edge cases: one row of two classes up to many rows of many classes.
const EDGE_SIZES: [(usize, usize); 4] = [(1, 2), (5, 10), (3, 100), (7, 67)];

/// Logits of ±100 (every class's softmax underflows but one): losses and gradients stay finite.
fn extreme(n: usize, every: usize, at: usize) -> Vec<f32> {
    (0..n)
        .map(|i| if i % every == at { 100.0 } else { -100.0 })
        .collect()
}

/// The fused CS-KD loss: L, CE, KL and dL/dza. T = 4, λ = 1 with partner logits; edges: every size
/// with T = 1, 4 and λ = 0, 1, 3, plain CE and label smoothing (no partner), then extreme logits.
pub(super) fn cskd(c: &mut Ctx) -> Option<Case> {
    let configs = [
        (LossConfig::cskd(1.0, 1.0), true),
        (LossConfig::cskd(4.0, 1.0), true),
        (LossConfig::cskd(4.0, 0.0), true),
        (LossConfig::cskd(4.0, 3.0), true),
        (LossConfig::ce(), false),
        (LossConfig::label_smoothing(0.1), false),
    ];
    let extremes = [
        (LossConfig::cskd(1.0, 1.0), true),
        (LossConfig::cskd(4.0, 1.0), true),
        (LossConfig::label_smoothing(0.2), false),
    ];
    let normal = EDGE_SIZES.len() * configs.len();
    let ((b, k), (cfg, partner), extreme_at) = match c.shape {
        Shape::Edge(i) if i < normal => (
            EDGE_SIZES[i / configs.len()],
            configs[i % configs.len()],
            false,
        ),
        Shape::Edge(i) => ((2, 10), *extremes.get(i - normal)?, true),
        _ => (logits_shape(c), (LossConfig::cskd(4.0, 1.0), true), false),
    };
    let (za, zp, labels) = if extreme_at {
        // Label 1 sits at −100 in row 0: CE ≈ 200, KL large.
        (extreme(b * k, 3, 0), extreme(b * k, 4, 1), vec![1, 0])
    } else {
        let (za, zp) = (c.randn(b * k, 3.0), c.randn(b * k, 3.0));
        let labels: Vec<u32> = (0..b).map(|_| c.rng.below(k) as u32).collect();
        (za, zp, labels)
    };
    let (zag, zpg, lg) = (c.up(&[b, k], &za), c.up(&[b, k], &zp), c.up(&[b], &labels));
    let want = c.want(|| {
        let (za, zp) = (f64s(&za), partner.then(|| f64s(&zp)));
        let (t, l, e) = (
            cfg.temperature as f64,
            cfg.lambda as f64,
            cfg.smoothing as f64,
        );
        let (loss, ce, kl) = r::cskd_loss(&za, zp.as_deref(), &labels, k, t, l, e);
        let grad = r::cskd_grad(&za, zp.as_deref(), &labels, k, t, l, e);
        let tolerance = if extreme_at { 1e-4 } else { 1e-5 };
        vec![
            Expect::new("L, CE, KL", vec![loss, ce, kl]).tolerance(tolerance),
            Expect::new("dza", grad).tolerance(tolerance),
        ]
    });
    let mut shape = format!("B{b} K{k}");
    if c.is_edge() {
        shape += &format!(
            " T{} λ{} ε{}{}{}",
            cfg.temperature,
            cfg.lambda,
            cfg.smoothing,
            if partner { "" } else { " no partner" },
            if extreme_at { " logits ±100" } else { "" }
        );
    }
    Some(Case {
        shape,
        flops: 0.0,
        bytes: bytes(&[&zag, &zpg, &zag]),
        run: Box::new(move |rec| {
            let out = cskd_loss(rec, &zag, partner.then_some(&zpg), &lg, cfg);
            vec![out.loss.prefix(&[3]), out.dza]
        }),
        want,
    })
}

/// Which logits and buffers a soft-loss case passes besides the anchors'.
#[derive(Clone, Copy)]
struct Inputs {
    partner: bool,
    teacher: bool,
    /// PS-KD's prediction buffer.
    prev: bool,
}

/// The soft-target loss: L, CE, the rest, dL/dza and (PS-KD) the updated prediction buffer. Mixing
/// (m = 0.7), CS-KD's term and label smoothing with partner logits; edges: every size with mixup /
/// CutMix targets alone and with CS-KD, KD alone, with CS-KD, with mixing and with smoothing, PS-KD
/// alone and with KD; then extreme logits with everything on.
pub(super) fn soft(c: &mut Ctx) -> Option<Case> {
    let cfg = |mix, alpha, lambda, kd_lambda, smoothing| SoftLossConfig {
        temperature: 4.0,
        lambda,
        smoothing,
        kd_temperature: 3.0,
        kd_lambda,
        mix,
        alpha,
    };
    let inputs = |partner, teacher, prev| Inputs {
        partner,
        teacher,
        prev,
    };
    let combos = [
        (cfg(0.3, 0.0, 0.0, 0.0, 0.0), inputs(false, false, false)),
        (cfg(0.7, 0.0, 1.0, 0.0, 0.0), inputs(true, false, false)),
        (cfg(1.0, 0.0, 0.0, 0.9, 0.0), inputs(false, true, false)),
        (cfg(1.0, 0.0, 2.0, 0.5, 0.0), inputs(true, true, false)),
        (cfg(0.4, 0.0, 1.0, 1.0, 0.0), inputs(true, true, false)),
        (cfg(1.0, 0.0, 0.0, 1.0, 0.1), inputs(false, true, false)),
        (cfg(1.0, 0.6, 0.0, 0.0, 0.0), inputs(false, false, true)),
        (cfg(1.0, 0.3, 0.0, 0.7, 0.0), inputs(false, true, true)),
    ];
    let normal = EDGE_SIZES.len() * combos.len();
    let extreme_cfg = SoftLossConfig {
        temperature: 4.0,
        lambda: 1.0,
        smoothing: 0.0,
        kd_temperature: 4.0,
        kd_lambda: 1.0,
        mix: 0.5,
        alpha: 0.5,
    };
    let ((b, k), (cfg, inputs), extreme_at) = match c.shape {
        Shape::Edge(i) if i < normal => (
            EDGE_SIZES[i / combos.len()],
            combos[i % combos.len()],
            false,
        ),
        Shape::Edge(i) if i == normal => ((2, 10), (extreme_cfg, inputs(true, true, true)), true),
        Shape::Edge(_) => return None,
        _ => {
            let cfg = SoftLossConfig {
                temperature: 4.0,
                lambda: 1.0,
                smoothing: 0.1,
                mix: 0.7,
                ..SoftLossConfig::default()
            };
            (logits_shape(c), (cfg, inputs(true, false, false)), false)
        }
    };
    // Rows hold (y, y_b, image index), the indices distinct in 0..n; prev is (n, K).
    let n = b + 4;
    let (za, zp, zt, info, prev) = if extreme_at {
        let prev: Vec<f32> = (0..n * k).map(|i| (i % k == 3) as u8 as f32).collect();
        let zt = extreme(b * k, 4, 1);
        (
            extreme(b * k, 3, 0),
            zt.clone(),
            zt,
            vec![1, 2, 0, 0, 5, 1],
            prev,
        )
    } else {
        let (za, zp, zt) = (
            c.randn(b * k, 3.0),
            c.randn(b * k, 3.0),
            c.randn(b * k, 3.0),
        );
        let mut idx: Vec<u32> = (0..n as u32).collect();
        c.rng.shuffle(&mut idx);
        let info: Vec<u32> = (0..b)
            .flat_map(|row| [c.rng.below(k) as u32, c.rng.below(k) as u32, idx[row]])
            .collect();
        let z = f64s(&c.randn(n * k, 2.0));
        let prev = r::softmax_rows(&z, k).iter().map(|&v| v as f32).collect();
        (za, zp, zt, info, prev)
    };
    let up = |z: &[f32]| c.up(&[b, k], z);
    let (zag, zpg, ztg) = (up(&za), up(&zp), up(&zt));
    let (ig, pg) = (c.up(&[b, 3], &info), c.up(&[n, k], &prev));
    let want = c.want(|| {
        let s = r::Soft::of(&cfg);
        let prev = f64s(&prev);
        let targets = r::soft_targets(&info, inputs.prev.then_some(&prev[..]), k, s);
        let (za, zp, zt) = (f64s(&za), f64s(&zp), f64s(&zt));
        let (zp, zt) = (
            inputs.partner.then_some(&zp[..]),
            inputs.teacher.then_some(&zt[..]),
        );
        let (l, ce, reg) = r::soft_loss(&za, zp, zt, &targets, k, s);
        let tolerance = if extreme_at { 1e-4 } else { 1e-5 };
        let mut want = vec![
            Expect::new("L, CE, rest", vec![l, ce, reg]).tolerance(tolerance),
            Expect::new("dza", r::soft_grad(&za, zp, zt, &targets, k, s)).tolerance(tolerance),
        ];
        if inputs.prev {
            let after = r::pskd_update(&prev, &info, &za, k);
            want.push(Expect::new("prev", after).tolerance(tolerance));
        }
        want
    });
    let mut shape = format!("B{b} K{k}");
    if c.is_edge() {
        shape += &format!(
            " m{} α{} λ{} λkd{} ε{}{}{}{}",
            cfg.mix,
            cfg.alpha,
            cfg.lambda,
            cfg.kd_lambda,
            cfg.smoothing,
            if inputs.partner { " partner" } else { "" },
            if inputs.teacher { " teacher" } else { "" },
            if extreme_at { " logits ±100" } else { "" }
        );
    }
    Some(Case {
        shape,
        flops: 0.0,
        bytes: bytes(&[&zag, &zpg, &zag]),
        run: Box::new(move |rec| {
            let (zp, zt) = (
                inputs.partner.then_some(&zpg),
                inputs.teacher.then_some(&ztg),
            );
            let prev = inputs.prev.then_some(&pg);
            let out = soft_loss(rec, &zag, zp, zt, &ig, prev, cfg);
            let mut outs = vec![out.loss.prefix(&[3]), out.dza];
            outs.extend(prev.cloned());
            outs
        }),
        want,
    })
}

/// Row softmax, one row holding ±100; edge: 70 rows.
pub(super) fn softmax(c: &mut Ctx) -> Option<Case> {
    let (b, k) = match c.shape {
        Shape::Edge(0) => (70, 13),
        Shape::Edge(_) => return None,
        _ => logits_shape(c),
    };
    let mut z = c.randn(b * k, 5.0);
    z[0] = 100.0;
    z[1] = -100.0;
    let zg = c.up(&[b, k], &z);
    let want = c.want(|| vec![Expect::new("p", r::softmax_rows(&f64s(&z), k))]);
    Some(Case {
        shape: format!("B{b} K{k}"),
        flops: 0.0,
        bytes: 2.0 * zg.bytes() as f64,
        run: Box::new(move |rec| vec![softmax::softmax(rec, &zg)]),
        want,
    })
}
