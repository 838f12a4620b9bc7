//! Random crop (4-pixel zero padding) + horizontal flip + normalisation on the GPU, from raw bytes.
//! Shapes: src (N·3072 bytes as u32 words); crops (N, 3) i32 (dy, dx, flip); out (N, 3, 32, 32).

use super::dispatch_1d;
use crate::gpu::{Kernel, Recorder, Tensor};
use crate::rng::Rng;

/// CIFAR normalisation used by the paper's code.
pub const MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
pub const STD: [f32; 3] = [0.2023, 0.1994, 0.2010];
pub const PAD: i32 = 4;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _p: [u32; 3],
    mean: [f32; 4],
    std: [f32; 4],
}

/// One image's augmentation: crop offset in [−PAD, PAD]² and a flip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crop {
    pub dy: i32,
    pub dx: i32,
    pub flip: bool,
}

impl Crop {
    pub const NONE: Crop = Crop {
        dy: 0,
        dx: 0,
        flip: false,
    };

    pub fn random(rng: &mut Rng) -> Crop {
        let span = (2 * PAD + 1) as usize;
        Crop {
            dy: rng.below(span) as i32 - PAD,
            dx: rng.below(span) as i32 - PAD,
            flip: rng.below(2) == 1,
        }
    }

    pub fn encode(crops: &[Crop]) -> Vec<i32> {
        crops
            .iter()
            .flat_map(|c| [c.dy, c.dx, c.flip as i32])
            .collect()
    }
}

/// `src` holds n images of 3072 bytes packed into u32 words; `crops` the encoded (n, 3) table.
pub fn augment(rec: &mut Recorder<'_>, src: &Tensor, crops: &Tensor, n: usize) -> Tensor {
    assert!(
        src.numel() * 4 >= n * 3072 && crops.numel() >= n * 3,
        "augment: buffers smaller than {n} images"
    );
    // The images are the first activations: stored as the device's activations are.
    let out = rec.alloc_as(&[n, 3, 32, 32], rec.gpu.activations());
    let p = Params {
        n: n as u32,
        _p: [0; 3],
        mean: [MEAN[0], MEAN[1], MEAN[2], 0.0],
        std: [STD[0], STD[1], STD[2], 1.0],
    };
    dispatch_1d(
        rec,
        Kernel::new("augment", "augment"),
        &p,
        &[src, crops, &out],
        out.numel(),
    );
    out
}

/// The host-side normalisation (`Crop::NONE`) the web API applies to an uploaded image: the one
/// CPU reference, `reference::augment`.
pub use crate::reference::augment as augment_reference;

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["augment"], [n, mean, std as sdev])
}
