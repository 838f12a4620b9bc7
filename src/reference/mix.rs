//! Mixup and CutMix of a normalised batch.

use crate::ops::mix::{MixDraw, SIDE};

/// What `ops::mix::mix` computes, in f32 as the kernel.
pub fn mix(x: &[f32], draw: &MixDraw) -> Vec<f32> {
    let img = 3 * SIDE * SIDE;
    let mut out = x.to_vec();
    for (n, &j) in draw.perm.iter().enumerate() {
        let j = j as usize;
        for c in 0..3 {
            for y in 0..SIDE as u32 {
                for xx in 0..SIDE as u32 {
                    let o = c * SIDE * SIDE + (y as usize) * SIDE + xx as usize;
                    let (a, b) = (x[n * img + o], x[j * img + o]);
                    out[n * img + o] = if !draw.cutmix {
                        draw.m * a + (1.0 - draw.m) * b
                    } else {
                        let [y0, y1, x0, x1] = draw.bbox;
                        if (y0..y1).contains(&y) && (x0..x1).contains(&xx) {
                            b
                        } else {
                            a
                        }
                    };
                }
            }
        }
    }
    out
}
