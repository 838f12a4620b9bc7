//! Mixup and CutMix on the GPU (shaders/mix.wgsl), with the host-side draws: one Beta(α, α)
//! weight, one pairing permutation and (CutMix) one box per batch, as the reference code of both
//! methods draws them. Rules in docs/METHODS.md.

use super::dispatch_1d;
use crate::gpu::{Kernel, Recorder, Tensor};
use crate::rng::Rng;

/// Image side (CIFAR).
pub(crate) const SIDE: usize = 32;

/// One batch's mixing: rows pair with `perm[i]`; `m` is the weight of the row's own label.
#[derive(Clone, Debug, PartialEq)]
pub struct MixDraw {
    pub cutmix: bool,
    /// Mixup: the pixel weight. CutMix: 1 − box area / image area (the label weight).
    pub m: f32,
    /// CutMix box (y0, y1, x0, x1), half-open; empty for mixup.
    pub bbox: [u32; 4],
    pub perm: Vec<u32>,
}

impl MixDraw {
    /// Draws the weight λ ~ Beta(α, α), the permutation of `n` rows and, for CutMix, the box
    /// (side √(1 − λ)·32 centred on a uniform pixel, clipped; λ is then the kept area).
    pub fn draw(rng: &mut Rng, n: usize, alpha: f32, cutmix: bool) -> MixDraw {
        let lam = beta(rng, alpha as f64);
        let mut perm: Vec<u32> = (0..n as u32).collect();
        rng.shuffle(&mut perm);
        if !cutmix {
            return MixDraw {
                cutmix,
                m: lam as f32,
                bbox: [0; 4],
                perm,
            };
        }
        let cut = (SIDE as f64 * (1.0 - lam).sqrt()) as i64;
        let (cy, cx) = (rng.below(SIDE) as i64, rng.below(SIDE) as i64);
        let clip = |v: i64| v.clamp(0, SIDE as i64) as u32;
        let bbox = [
            clip(cy - cut / 2),
            clip(cy + cut / 2),
            clip(cx - cut / 2),
            clip(cx + cut / 2),
        ];
        let area = (bbox[1] - bbox[0]) * (bbox[3] - bbox[2]);
        MixDraw {
            cutmix,
            m: 1.0 - area as f32 / (SIDE * SIDE) as f32,
            bbox,
            perm,
        }
    }
}

/// Beta(α, α) as X/(X + Y) of two Gamma(α) draws.
pub fn beta(rng: &mut Rng, alpha: f64) -> f64 {
    let x = gamma(rng, alpha);
    let y = gamma(rng, alpha);
    if x + y > 0.0 {
        x / (x + y)
    } else {
        0.5 // both underflowed (tiny α): the two labels weigh the same
    }
}

/// Gamma(a, 1) by Marsaglia–Tsang; a < 1 via Gamma(a + 1)·U^(1/a).
fn gamma(rng: &mut Rng, a: f64) -> f64 {
    if a < 1.0 {
        let u = 1.0 - rng.next_f32() as f64; // (0, 1]
        return gamma(rng, a + 1.0) * u.powf(1.0 / a);
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = rng.normal() as f64;
        let v = (1.0 + c * z).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.next_f32() as f64;
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    mode: u32,
    bbox: [u32; 4],
    m: f32,
    _p: u32,
}

/// Mixes a normalised batch `x` (n, 3, 32, 32); `perm` holds `draw.perm` on the GPU.
pub fn mix(rec: &mut Recorder<'_>, x: &Tensor, perm: &Tensor, draw: &MixDraw) -> Tensor {
    let n = x.shape()[0];
    assert!(
        perm.numel() >= n && draw.perm.len() == n,
        "mix: one partner per row"
    );
    let out = rec.alloc_as(x.shape(), x.dtype());
    let p = Params {
        n: n as u32,
        mode: if draw.cutmix { 2 } else { 1 },
        bbox: draw.bbox,
        m: draw.m,
        _p: 0,
    };
    dispatch_1d(
        rec,
        Kernel::new("mix", "mix"),
        &p,
        &[x, perm, &out],
        out.numel(),
    );
    out
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["mix"], [n, mode, bbox as y0, m])
}
