//! Row softmax for evaluation. Shapes: z, probs (B, K).

use crate::gpu::{groups, Kernel, Recorder, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    b: u32,
    k: u32,
    _pad: [u32; 2],
}

pub fn softmax(rec: &mut Recorder<'_>, z: &Tensor) -> Tensor {
    let (b, k) = (z.shape()[0], z.shape()[1]);
    let probs = rec.alloc(&[b, k]);
    let p = Params {
        b: b as u32,
        k: k as u32,
        _pad: [0; 2],
    };
    rec.dispatch(
        Kernel::new("softmax", "softmax"),
        &p,
        &[z, &probs],
        [groups(b, 64), 1, 1],
    );
    probs
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["softmax"], [b, k])
}
