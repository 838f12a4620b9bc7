//! CIFAR-10 / CIFAR-100 in the official binary format: readers (archive, extracted directory,
//! loose `.bin`), a small writer (for tests and tools), a class-balanced subset, and the
//! class-wise pair sampler of CS-KD.
//!
//! Images stay as stored: `u8`, 3×32×32, channel-major (the R plane, then G, then B, each
//! row-major). Normalisation and augmentation belong to the trainer.

mod archive;
mod cifar;
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod fs;
mod layout;
pub mod limits;
#[cfg(not(target_arch = "wasm32"))]
pub mod locate;
mod loose;
mod sampler;
mod subset;

pub use archive::{from_archive_bytes, write_archive};
pub use cifar::{default_class_names, default_coarse_class_names, parse_records, write_records};
pub use error::DataError;
#[cfg(not(target_arch = "wasm32"))]
pub use fs::{load, load_as};
pub use loose::from_bin_bytes;
pub use sampler::{PairBatch, PairSampler};

use serde::{Deserialize, Serialize};

/// Bytes of one image: 3 channels × 32 × 32.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Number of CIFAR-100 superclasses.
pub const NUM_COARSE_CLASSES: usize = 20;

/// Which CIFAR. Serialised as `"cifar10"` / `"cifar100"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CifarKind {
    Cifar10,
    Cifar100,
}

impl CifarKind {
    /// Number of (fine) classes: 10 or 100.
    pub fn num_classes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 10,
            CifarKind::Cifar100 => 100,
        }
    }

    /// Label bytes before the pixels of a record: 1 (label) or 2 (coarse, fine).
    pub const fn label_bytes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 1,
            CifarKind::Cifar100 => 2,
        }
    }

    /// Bytes of one record: 3073 or 3074.
    pub const fn record_bytes(self) -> usize {
        self.label_bytes() + IMAGE_BYTES
    }

    /// The other variant.
    pub fn other(self) -> CifarKind {
        match self {
            CifarKind::Cifar10 => CifarKind::Cifar100,
            CifarKind::Cifar100 => CifarKind::Cifar10,
        }
    }
}

impl std::fmt::Display for CifarKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CifarKind::Cifar10 => "CIFAR-10",
            CifarKind::Cifar100 => "CIFAR-100",
        })
    }
}

/// One split (train or test): `len()` images with their labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// `len() × 3 × 32 × 32` bytes, CHW per image, as stored (R plane, G plane, B plane).
    pub images: Vec<u8>,
    /// Fine label of each image.
    pub labels: Vec<u32>,
    /// CIFAR-100 superclass (coarse label) of each image; `None` for CIFAR-10.
    pub coarse: Option<Vec<u32>>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `IMAGE_BYTES` bytes of image `i` (CHW). Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]
    }

    /// A new split holding images `indices` (in that order) with their labels.
    /// Panics if an index is `>= len()`.
    pub fn select(&self, indices: &[usize]) -> Split {
        let mut images = Vec::with_capacity(indices.len() * IMAGE_BYTES);
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        Split {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            coarse: self
                .coarse
                .as_ref()
                .map(|c| indices.iter().map(|&i| c[i]).collect()),
        }
    }

    /// Splits off images `at..` into a new split (like `Vec::split_off`); `self` keeps `..at`.
    /// Panics if `at > len()`.
    pub fn split_off(&mut self, at: usize) -> Split {
        Split {
            images: self.images.split_off(at * IMAGE_BYTES),
            labels: self.labels.split_off(at),
            coarse: self.coarse.as_mut().map(|c| c.split_off(at)),
        }
    }

    /// Number of images per label, for labels `0..num_classes` (larger labels are not counted).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }
}

/// A whole data set: both splits and the class names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cifar {
    pub kind: CifarKind,
    pub train: Split,
    pub test: Split,
    /// Fine class names, label 0 first.
    pub classes: Vec<String>,
    /// CIFAR-100 superclass names, label 0 first; `None` for CIFAR-10.
    pub coarse_classes: Option<Vec<String>>,
}

impl Cifar {
    /// Number of (fine) classes of the kind: 10 or 100 (the readers make sure
    /// `classes.len()` equals it).
    pub fn num_classes(&self) -> usize {
        self.kind.num_classes()
    }
}
