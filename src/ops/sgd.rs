//! Fused SGD update (momentum, weight decay, optionally Nesterov) as torch.optim.SGD. Shapes: w, g, v, kept (n);
//! loss (≥1). Given a model's whole parameter arenas it updates every parameter in one dispatch
//! (more only where an arena exceeds the adapter's largest storage binding).

use super::dispatch_1d;
use crate::gpu::{Kernel, Recorder, Tensor};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    /// torch.optim.SGD(nesterov=True): the update looks ahead along the momentum.
    pub nesterov: bool,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    nesterov: u32,
    _p: [u32; 2],
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    _q: f32,
}

/// What guards the weights against a diverging step: the copies of weights and momentum a step
/// with a finite loss keeps, and the halt flag (u32, 1) a non-finite loss sets (see sgd.wgsl).
#[derive(Clone, Copy)]
pub struct Kept<'a> {
    pub values: &'a Tensor,
    pub velocity: &'a Tensor,
    pub halted: &'a Tensor,
}

/// w and v are updated in place, unless loss[0] is not finite or `kept.halted` is set (the step is
/// then skipped; a non-finite loss sets it). A step that runs first copies w and v into `kept`
/// (the last weights a finite loss was computed with).
pub fn step(
    rec: &mut Recorder<'_>,
    w: &Tensor,
    g: &Tensor,
    v: &Tensor,
    loss: &Tensor,
    kept: Kept<'_>,
    cfg: SgdConfig,
) {
    let n = w.numel();
    assert_eq!(n, g.numel(), "gradient size");
    assert_eq!(n, v.numel(), "velocity size");
    assert!(
        kept.values.numel() == n && kept.velocity.numel() == n,
        "kept size"
    );
    let limits = &rec.gpu.limits;
    let align = limits.min_storage_buffer_offset_alignment.max(4) as usize;
    // Elements per dispatch: all of them, unless one binding cannot hold them.
    let max_bytes = limits.max_storage_buffer_binding_size as usize;
    let chunk = if n * 4 <= max_bytes {
        n.max(1)
    } else {
        (max_bytes / align * align) / 4
    };
    for start in (0..n).step_by(chunk) {
        let len = chunk.min(n - start);
        let p = Params {
            n: len as u32,
            nesterov: cfg.nesterov as u32,
            _p: [0; 2],
            lr: cfg.lr,
            momentum: cfg.momentum,
            weight_decay: cfg.weight_decay,
            _q: 0.0,
        };
        let part = |t: &Tensor| {
            if len == n {
                t.clone()
            } else {
                t.view(start as u64 * 4, &[len])
            }
        };
        let (w, g, v) = (part(w), part(g), part(v));
        let (kw, kv) = (part(kept.values), part(kept.velocity));
        dispatch_1d(
            rec,
            Kernel::new("sgd", "step"),
            &p,
            &[&w, &g, &v, loss, &kw, &kv, kept.halted],
            len,
        );
    }
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["sgd"], [n, nesterov, lr, momentum, weight_decay])
}
