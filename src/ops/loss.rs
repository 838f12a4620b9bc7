//! The fused CS-KD loss (see shaders/loss.wgsl for the formulas): per-row CE and T²·KL, the batch
//! loss and the gradient w.r.t. the anchor logits, in one kernel plus a reduction of the rows: a
//! workgroup per row and one for the sum, or, where the family reduces serially
//! (`KernelFamily::serial_reductions`), a thread per row and one for the sum.
//! Shapes: za, zp (B, K); labels (B) u32; dza (B, K); loss (4) = (L, mean CE, mean T²·KL, 0).

use crate::gpu::{grid_1d, Kernel, Recorder, Tensor, WG_1D};

const FUSED: Kernel = Kernel::new("loss", "cskd_forward_backward");
const REDUCE: Kernel = Kernel::new("loss", "reduce_rows");
const FUSED_SERIAL: Kernel = Kernel::new("loss", "cskd_forward_backward_serial");
const REDUCE_SERIAL: Kernel = Kernel::new("loss", "reduce_rows_serial");

/// What the loss computes: T, λ, ε. `LossConfig::ce()` is plain cross-entropy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossConfig {
    pub temperature: f32,
    pub lambda: f32,
    pub smoothing: f32,
}

impl LossConfig {
    pub fn ce() -> Self {
        LossConfig {
            temperature: 1.0,
            lambda: 0.0,
            smoothing: 0.0,
        }
    }
    pub fn cskd(temperature: f32, lambda: f32) -> Self {
        LossConfig {
            temperature,
            lambda,
            smoothing: 0.0,
        }
    }
    pub fn label_smoothing(eps: f32) -> Self {
        LossConfig {
            temperature: 1.0,
            lambda: 0.0,
            smoothing: eps,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    b: u32,
    k: u32,
    has_partner: u32,
    _p0: u32,
    t: f32,
    lambda: f32,
    eps: f32,
    _p1: f32,
}

/// The loss outputs, all on the GPU until someone reads them.
pub struct LossOut {
    /// (4): L, mean CE, mean T²·KL, 0.
    pub loss: Tensor,
    /// (B, 2): per-row CE and T²·KL.
    pub rows: Tensor,
    /// (B, K): dL/dza, already divided by B.
    pub dza: Tensor,
}

/// `zp = None` gives CE or label smoothing (no KL term).
pub fn cskd_loss(
    rec: &mut Recorder<'_>,
    za: &Tensor,
    zp: Option<&Tensor>,
    labels: &Tensor,
    cfg: LossConfig,
) -> LossOut {
    let (b, k) = (za.shape()[0], za.shape()[1]);
    assert_eq!(labels.numel(), b, "one label per anchor");
    if let Some(zp) = zp {
        assert_eq!(
            zp.shape(),
            za.shape(),
            "partner logits must match anchor logits"
        );
    }
    let p = Params {
        b: b as u32,
        k: k as u32,
        has_partner: zp.is_some() as u32,
        _p0: 0,
        t: cfg.temperature,
        lambda: if zp.is_some() { cfg.lambda } else { 0.0 },
        eps: cfg.smoothing,
        _p1: 0.0,
    };
    let (dza, rows, loss) = (rec.alloc(&[b, k]), rec.alloc(&[b, 2]), rec.alloc(&[4]));
    let zp = zp.unwrap_or(za); // unread without a partner
    let (fused, reduce, grid) = match rec.gpu.family().serial_reductions() {
        true => (FUSED_SERIAL, REDUCE_SERIAL, grid_1d(b, WG_1D)),
        false => (FUSED, REDUCE, row_grid(b)),
    };
    rec.dispatch(fused, &p, &[za, zp, labels, &dza, &rows], grid);
    rec.dispatch(reduce, &p, &[&rows, &loss], [1, 1, 1]);
    LossOut { loss, rows, dza }
}

/// One workgroup per row, folded into 2-D past 65 535 rows (the kernels' `wid.x + wid.y · 65535`).
pub(crate) fn row_grid(rows: usize) -> [u32; 3] {
    match rows <= 65535 {
        true => [rows as u32, 1, 1],
        false => [65535, rows.div_ceil(65535) as u32, 1],
    }
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["loss"], [b, k, has_partner, t, lambda, eps])
}
