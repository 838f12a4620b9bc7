//! The soft-target loss of mixup/CutMix, PS-KD and teacher KD, optionally with CS-KD's class-wise
//! term (formulas in shaders/soft_loss.wgsl, rules in docs/METHODS.md). Used only when one of those
//! options is on; CE / LS / CS-KD alone keep the fused kernel of `ops::loss`, bit for bit.
//! Shapes: za, zp, zt (B, K); meta (B, 3) u32 = (y, y_b, image index); prev (N, K); dza (B, K);
//! loss (4) = (L, mean CE, L − mean CE, 0).

use crate::gpu::{grid_1d, Kernel, Recorder, Tensor, WG_1D};

const FUSED: Kernel = Kernel::new("soft_loss", "soft_forward_backward");
const REDUCE: Kernel = Kernel::new("soft_loss", "soft_reduce_rows");
const FUSED_SERIAL: Kernel = Kernel::new("soft_loss", "soft_forward_backward_serial");
const REDUCE_SERIAL: Kernel = Kernel::new("soft_loss", "soft_reduce_rows_serial");

/// The weights of every term. `SoftLossConfig::default()` is plain CE on `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftLossConfig {
    /// CS-KD's temperature and weight (used when partner logits are given).
    pub temperature: f32,
    pub lambda: f32,
    /// Label smoothing ε of the whole target.
    pub smoothing: f32,
    /// KD's temperature and weight (used when teacher logits are given).
    pub kd_temperature: f32,
    pub kd_lambda: f32,
    /// Weight m of `y` in the mixed target (1 = no mixing).
    pub mix: f32,
    /// PS-KD's α_t (used when a prediction buffer is given).
    pub alpha: f32,
}

impl Default for SoftLossConfig {
    fn default() -> Self {
        SoftLossConfig {
            temperature: 1.0,
            lambda: 0.0,
            smoothing: 0.0,
            kd_temperature: 1.0,
            kd_lambda: 0.0,
            mix: 1.0,
            alpha: 0.0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    b: u32,
    k: u32,
    has_partner: u32,
    has_teacher: u32,
    has_prev: u32,
    _p: [u32; 3],
    t: f32,
    lambda: f32,
    t_kd: f32,
    lambda_kd: f32,
    mix: f32,
    alpha: f32,
    eps: f32,
    _p3: f32,
}

pub struct SoftLossOut {
    /// (4): L, mean CE, L − mean CE (the weighted distillation terms), 0.
    pub loss: Tensor,
    /// (B, 3): per-row CE, T²·KL (class-wise), Tk²·KL (teacher), unweighted.
    pub rows: Tensor,
    /// (B, K): dL/dza, already divided by B.
    pub dza: Tensor,
}

/// Records the loss. `prev` (N, K), when given, is read for the PS-KD target and then holds this
/// step's softmax(za) in the rows of the batch's image indices.
pub fn soft_loss(
    rec: &mut Recorder<'_>,
    za: &Tensor,
    zp: Option<&Tensor>,
    zt: Option<&Tensor>,
    meta: &Tensor,
    prev: Option<&Tensor>,
    cfg: SoftLossConfig,
) -> SoftLossOut {
    let (b, k) = (za.shape()[0], za.shape()[1]);
    assert!(
        meta.numel() >= 3 * b,
        "soft loss: meta needs (y, y_b, index) per row"
    );
    for z in [zp, zt].into_iter().flatten() {
        assert_eq!(z.shape(), za.shape(), "soft loss: logits shapes differ");
    }
    if let Some(prev) = prev {
        assert_eq!(
            prev.shape()[1],
            k,
            "soft loss: prediction buffer must be (N, K)"
        );
    }
    let p = Params {
        b: b as u32,
        k: k as u32,
        has_partner: zp.is_some() as u32,
        has_teacher: zt.is_some() as u32,
        has_prev: prev.is_some() as u32,
        _p: [0; 3],
        t: cfg.temperature,
        lambda: if zp.is_some() { cfg.lambda } else { 0.0 },
        t_kd: cfg.kd_temperature,
        lambda_kd: if zt.is_some() { cfg.kd_lambda } else { 0.0 },
        mix: cfg.mix,
        alpha: cfg.alpha,
        eps: cfg.smoothing,
        _p3: 0.0,
    };
    let (dza, rows, loss) = (rec.alloc(&[b, k]), rec.alloc(&[b, 3]), rec.alloc(&[4]));
    // Unread stand-ins: read-only ones may alias za; the writable one must be its own buffer.
    let dummy;
    let prev = match prev {
        Some(t) => t,
        None => {
            dummy = rec.alloc(&[1]);
            &dummy
        }
    };
    // A workgroup per row, or a thread per row (`KernelFamily::serial_reductions`), as `ops::loss`.
    let (fused, reduce, grid) = match rec.gpu.family().serial_reductions() {
        true => (FUSED_SERIAL, REDUCE_SERIAL, grid_1d(b, WG_1D)),
        false => (FUSED, REDUCE, super::loss::row_grid(b)),
    };
    let (zp, zt) = (zp.unwrap_or(za), zt.unwrap_or(za));
    rec.dispatch(fused, &p, &[za, zp, zt, meta, prev, &dza, &rows], grid);
    rec.dispatch(reduce, &p, &[&rows, &loss], [1, 1, 1]);
    SoftLossOut { loss, rows, dza }
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(
        Params,
        ["soft_loss"],
        [
            b,
            k,
            has_partner,
            has_teacher,
            has_prev,
            t,
            lambda,
            t_kd,
            lambda_kd,
            mix,
            alpha,
            eps
        ]
    )
}
