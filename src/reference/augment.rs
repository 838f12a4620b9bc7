//! Random crop + flip + normalisation of raw CIFAR bytes.

use crate::ops::augment::{Crop, MEAN, STD};

/// What `ops::augment::augment` computes, in f32 as the kernel: for tests, and for normalising an
/// image on the host (`Crop::NONE`).
pub fn augment(src: &[u8], crops: &[Crop]) -> Vec<f32> {
    let mut out = vec![0.0; crops.len() * 3072];
    for (n, crop) in crops.iter().enumerate() {
        for c in 0..3 {
            for y in 0..32i32 {
                for x in 0..32i32 {
                    let xf = if crop.flip { 31 - x } else { x };
                    let (sy, sx) = (y + crop.dy, xf + crop.dx);
                    let v = if (0..32).contains(&sy) && (0..32).contains(&sx) {
                        src[n * 3072 + c * 1024 + (sy * 32 + sx) as usize] as f32
                    } else {
                        0.0
                    };
                    out[n * 3072 + c * 1024 + (y * 32 + x) as usize] =
                        (v / 255.0 - MEAN[c]) / STD[c];
                }
            }
        }
    }
    out
}
