//! Row softmax for evaluation. Shapes: z, probs (B, K).

use crate::gpu::{groups, Kernel, Recorder, Tensor};

pub fn softmax(rec: &mut Recorder<'_>, z: &Tensor) -> Tensor {
    let (b, k) = (z.shape()[0], z.shape()[1]);
    let probs = rec.alloc(&[b, k]);
    let p = [b as u32, k as u32, 0, 0];
    rec.dispatch(
        Kernel::new("softmax", "softmax"),
        &p,
        &[z, &probs],
        [groups(b, 64), 1, 1],
    );
    probs
}
