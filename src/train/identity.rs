//! What a run was trained on, so a resume can tell when it is given other data: the kind, the
//! sizes of the selected splits and a fingerprint of their bytes and labels.

use crate::data::{Cifar, Split};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataIdentity {
    /// "CIFAR-10" or "CIFAR-100".
    pub kind: String,
    pub train: usize,
    pub test: usize,
    /// 64-bit hash of the training images and labels and the test labels, as hex.
    pub fingerprint: String,
}

impl DataIdentity {
    /// The identity of the splits a trainer uses (after class-balanced subsetting).
    pub fn of(data: &Cifar) -> DataIdentity {
        let mut h = Hasher::default();
        hash_split(&mut h, &data.train);
        for l in &data.test.labels {
            h.word(*l as u64);
        }
        DataIdentity {
            kind: data.kind.to_string(),
            train: data.train.len(),
            test: data.test.len(),
            fingerprint: format!("{:016x}", h.0),
        }
    }

    /// What differs from `other`, in words; `None` when they match.
    pub fn difference(&self, other: &DataIdentity) -> Option<String> {
        if self == other {
            return None;
        }
        let show = |d: &DataIdentity| {
            format!(
                "{} with {} training / {} test images (fingerprint {})",
                d.kind, d.train, d.test, d.fingerprint
            )
        };
        Some(format!("{} vs {}", show(self), show(other)))
    }
}

/// A fingerprint of f32 tensors (their bits, in order), as hex.
pub(crate) fn fingerprint_f32<'a>(tensors: impl IntoIterator<Item = &'a [f32]>) -> String {
    let mut h = Hasher::default();
    for t in tensors {
        h.word(t.len() as u64);
        for v in t {
            h.word(v.to_bits() as u64);
        }
    }
    format!("{:016x}", h.0)
}

fn hash_split(h: &mut Hasher, s: &Split) {
    let chunks = s.images.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        h.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    for b in rest {
        h.word(*b as u64);
    }
    for l in &s.labels {
        h.word(*l as u64);
    }
}

/// A word-at-a-time multiply–xor hash (not cryptographic: it tells data sets and teachers apart, fast).
pub(crate) struct Hasher(pub(crate) u64);

impl Default for Hasher {
    fn default() -> Self {
        Hasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher {
    pub(crate) fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(23);
    }
}
