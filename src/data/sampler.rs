//! The class-wise pair sampler of CS-KD (docs/ALGORITHM.md, "Batches").

use super::DataError;
use crate::rng::Rng;

/// One training step's indices: `anchors[i]` and `partners[i]` have the same label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairBatch {
    pub anchors: Vec<u32>,
    pub partners: Vec<u32>,
}

/// Draws CS-KD batches over a training split's labels.
#[derive(Clone, Debug)]
pub struct PairSampler {
    labels: Vec<u32>,
    /// Indices of each class's images, ascending.
    by_class: Vec<Vec<u32>>,
}

impl PairSampler {
    /// A sampler over `labels` (one per training image); every label must be `< num_classes`.
    pub fn new(labels: &[u32], num_classes: usize) -> Result<Self, DataError> {
        let mut by_class = vec![Vec::new(); num_classes];
        for (i, &l) in labels.iter().enumerate() {
            match by_class.get_mut(l as usize) {
                Some(members) => members.push(i as u32),
                None => {
                    return Err(DataError::LabelOutOfRange {
                        name: "pair sampler labels".into(),
                        record: i,
                        which: "label",
                        label: l,
                        num_classes,
                    })
                }
            }
        }
        Ok(Self {
            labels: labels.to_vec(),
            by_class,
        })
    }

    /// Number of images N.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Steps per epoch: ceil(N / batch) (0 for batch 0).
    pub fn num_batches(&self, batch: usize) -> usize {
        if batch == 0 {
            0
        } else {
            self.len().div_ceil(batch)
        }
    }

    /// Indices of the images of class `class`, ascending (empty for an unknown class).
    pub fn class_members(&self, class: usize) -> &[u32] {
        self.by_class.get(class).map_or(&[], Vec::as_slice)
    }

    /// One CS-KD epoch: all indices shuffled (`rng.shuffle`), cut into consecutive chunks of
    /// `batch` (the last may be shorter and is kept), and for every anchor, in order, a partner
    /// drawn uniformly (`rng.below`) from all indices with the anchor's label, the anchor
    /// itself included. ceil(N / batch) batches; the same `rng` state gives the same epoch, and
    /// the anchors are exactly those of [`plain_epoch`](Self::plain_epoch) from that state.
    pub fn epoch(&self, rng: &mut Rng, batch: usize) -> Result<Vec<PairBatch>, DataError> {
        let chunks = self.plain_epoch(rng, batch)?;
        Ok(chunks
            .into_iter()
            .map(|anchors| {
                let partners = anchors
                    .iter()
                    .map(|&a| {
                        let members = &self.by_class[self.labels[a as usize] as usize];
                        members[rng.below(members.len())]
                    })
                    .collect();
                PairBatch { anchors, partners }
            })
            .collect())
    }

    /// One epoch without partners (the cross-entropy baseline): the same shuffle and chunks as
    /// [`epoch`](Self::epoch).
    pub fn plain_epoch(&self, rng: &mut Rng, batch: usize) -> Result<Vec<Vec<u32>>, DataError> {
        if batch == 0 {
            return Err(DataError::ZeroBatch);
        }
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        rng.shuffle(&mut order);
        Ok(order.chunks(batch).map(<[u32]>::to_vec).collect())
    }
}
