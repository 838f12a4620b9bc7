//! The calibration split: class-balanced images of the training pool, never trained on, whose
//! eval-mode logits fit the temperature of post-hoc temperature scaling.
//!
//! The rule (`calibrationFraction` = f, 0 turns it off):
//! - `perClass` > 0: the training images are chosen exactly as without calibration
//!   ([`Split::balanced_subset`]), and ⌈f · perClass⌉ images of each class are drawn from the
//!   class's images that were *not* chosen (fewer if the class has fewer left). Training is
//!   bit-identical with and without calibration.
//! - `perClass` = 0 (train on everything): ⌊f · n_c⌋ images of each class c are carved out of
//!   the training set; the rest, in its original order, is trained on.
//!
//! Both draws use their own stream seeded from the run's seed, so `cskd eval` rebuilds the same
//! split from a checkpoint's configuration and the same data.

use crate::data::Split;
use crate::rng::Rng;

/// Seed of the calibration draw: independent of the subset, sampler and augmentation streams.
fn calibration_seed(seed: u64) -> u64 {
    seed ^ 0xCA11_B2A7_E5EE_D000
}

/// Indices chosen by [`Split::balanced_subset`] with the same arguments, ascending (the same
/// draw, repeated here because that function returns only the split; a test checks they agree).
pub fn balanced_indices(labels: &[u32], per_class: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut by_class = by_class(labels, k);
    let mut rng = Rng::new(seed);
    let mut chosen = Vec::new();
    for members in &mut by_class {
        rng.shuffle(members);
        chosen.extend_from_slice(&members[..per_class.min(members.len())]);
    }
    chosen.sort_unstable();
    chosen
}

fn by_class(labels: &[u32], k: usize) -> Vec<Vec<usize>> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        if let Some(members) = by_class.get_mut(l as usize) {
            members.push(i);
        }
    }
    by_class
}

/// Per class, `count(n_c)` indices of `pool` (indices into the split, grouped by class) drawn
/// by a seeded shuffle; ascending.
fn draw(mut pool: Vec<Vec<usize>>, seed: u64, count: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut rng = Rng::new(calibration_seed(seed));
    let mut chosen = Vec::new();
    for members in &mut pool {
        rng.shuffle(members);
        chosen.extend_from_slice(&members[..count(members.len()).min(members.len())]);
    }
    chosen.sort_unstable();
    chosen
}

/// Splits the full training pool into (training split, calibration split) by the module's rule.
/// The calibration split is empty when `fraction` is 0 or no image is left for it.
pub fn training_and_calibration(
    pool: Split,
    per_class: usize,
    k: usize,
    seed: u64,
    fraction: f32,
) -> (Split, Split) {
    let f = fraction.max(0.0) as f64;
    if per_class > 0 {
        let train = pool.balanced_subset(per_class, k, seed);
        if f == 0.0 {
            return (train, Split::default());
        }
        let used = balanced_indices(&pool.labels, per_class, k, seed);
        let mut is_used = vec![false; pool.len()];
        used.iter().for_each(|&i| is_used[i] = true);
        let mut left = by_class(&pool.labels, k);
        left.iter_mut().for_each(|m| m.retain(|&i| !is_used[i]));
        let want = (f * per_class as f64).ceil() as usize;
        let cal = draw(left, seed, |_| want);
        let calibration = pool.select(&cal);
        (train, calibration)
    } else {
        if f == 0.0 {
            return (pool, Split::default());
        }
        let cal = draw(by_class(&pool.labels, k), seed, |n| {
            (f * n as f64).floor() as usize
        });
        if cal.is_empty() {
            return (pool, Split::default());
        }
        let mut in_cal = vec![false; pool.len()];
        cal.iter().for_each(|&i| in_cal[i] = true);
        let rest: Vec<usize> = (0..pool.len()).filter(|&i| !in_cal[i]).collect();
        (pool.select(&rest), pool.select(&cal))
    }
}

/// How many images [`training_and_calibration`] leaves for training, from the pool's labels.
pub fn training_count(labels: &[u32], per_class: usize, k: usize, fraction: f32) -> usize {
    let f = fraction.max(0.0) as f64;
    let counts = by_class(labels, k).into_iter().map(|m| m.len());
    if per_class > 0 {
        counts.map(|n| n.min(per_class)).sum()
    } else {
        counts.map(|n| n - (f * n as f64).floor() as usize).sum()
    }
}
