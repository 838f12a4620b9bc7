//! The per-step uploads: raw image bytes, crop/flip draws and labels, written into owned buffers
//! sized once for the largest batch; the GPU turns bytes into normalised, augmented tensors.

use crate::data::{Split, IMAGE_BYTES};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::augment::{augment, Crop};
use crate::rng::Rng;

/// Upload buffers for one half of a batch (anchors or partners).
pub struct BatchInputs {
    bytes: Tensor,
    crops: Tensor,
    labels: Tensor,
    staging: Vec<u8>,
    capacity: usize,
}

impl BatchInputs {
    pub fn new(gpu: &Gpu, capacity: usize) -> BatchInputs {
        BatchInputs {
            bytes: Tensor::zeros(&gpu.device, &[capacity * IMAGE_BYTES / 4]),
            crops: Tensor::zeros(&gpu.device, &[capacity * 3]),
            labels: Tensor::zeros(&gpu.device, &[capacity]),
            staging: Vec::with_capacity(capacity * IMAGE_BYTES),
            capacity,
        }
    }

    /// Uploads images `indices` of `split` (random crops + flips drawn from `rng` when given) and
    /// records their augmentation; returns (normalised images (n, 3, 32, 32), labels (n)).
    pub fn load(
        &mut self,
        rec: &mut Recorder<'_>,
        split: &Split,
        indices: &[u32],
        rng: Option<&mut Rng>,
    ) -> (Tensor, Tensor) {
        let n = indices.len();
        assert!(
            n <= self.capacity,
            "batch of {n} exceeds the input capacity {}",
            self.capacity
        );
        self.staging.clear();
        for &i in indices {
            self.staging.extend_from_slice(split.image(i as usize));
        }
        let crops: Vec<Crop> = match rng {
            Some(rng) => (0..n).map(|_| Crop::random(rng)).collect(),
            None => vec![Crop::NONE; n],
        };
        let labels: Vec<u32> = indices.iter().map(|&i| split.labels[i as usize]).collect();
        let queue = rec.gpu;
        self.bytes.write(queue, &self.staging);
        self.crops.write(queue, &Crop::encode(&crops));
        self.labels.write(queue, &labels);
        let images = augment(rec, &self.bytes, &self.crops, n);
        (images, self.labels.prefix(&[n]))
    }
}

/// Per-step uploads of the soft-target step (mixing, KD, PS-KD): the (y, y_b, image index) rows
/// of the loss and the mixing permutation, in buffers sized once.
pub struct SoftUploads {
    info: Tensor,
    perm: Tensor,
    capacity: usize,
}

impl SoftUploads {
    pub fn new(gpu: &Gpu, capacity: usize) -> SoftUploads {
        SoftUploads {
            info: Tensor::zeros(&gpu.device, &[capacity * 3]),
            perm: Tensor::zeros(&gpu.device, &[capacity.max(1)]),
            capacity,
        }
    }

    /// Writes the rows for anchors `indices` of `split`, each mixed with row `perm[i]` (identity
    /// without mixing); returns (info (n, 3), perm (n)).
    pub fn write(
        &self,
        rec: &Recorder<'_>,
        split: &Split,
        indices: &[u32],
        perm: Option<&[u32]>,
    ) -> (Tensor, Tensor) {
        let n = indices.len();
        assert!(n <= self.capacity, "batch of {n} exceeds {}", self.capacity);
        let label = |r: usize| split.labels[indices[r] as usize];
        let mut info = Vec::with_capacity(3 * n);
        for (r, &i) in indices.iter().enumerate() {
            let partner = perm.map_or(r, |p| p[r] as usize);
            info.extend_from_slice(&[label(r), label(partner), i]);
        }
        self.info.write(rec.gpu, &info);
        if let Some(p) = perm {
            self.perm.write(rec.gpu, p);
        }
        (self.info.prefix(&[n, 3]), self.perm.prefix(&[n]))
    }
}
