//! The CS-KD pair sampler and class-balanced subsets.

use cskd::data::{DataError, PairSampler, Split, IMAGE_BYTES};
use cskd::rng::Rng;

/// Labels with a big class 0 (50 images), classes 1–3 of various sizes and class 4 of one image.
fn labels() -> Vec<u32> {
    let mut l = Vec::new();
    l.extend(std::iter::repeat_n(0, 50));
    l.extend(std::iter::repeat_n(1, 20));
    l.extend(std::iter::repeat_n(2, 7));
    l.extend(std::iter::repeat_n(3, 25));
    l.push(4);
    Rng::new(11).shuffle(&mut l);
    l
}

#[test]
fn every_index_is_an_anchor_once_in_ceil_n_over_b_batches() {
    let l = labels();
    let n = l.len(); // 103
    let s = PairSampler::new(&l, 5).unwrap();
    assert_eq!(s.len(), n);
    let mut rng = Rng::new(1);
    for batch in [1, 10, 32, 103, 200] {
        let epoch = s.epoch(&mut rng, batch).unwrap();
        assert_eq!(epoch.len(), n.div_ceil(batch), "batch {batch}");
        assert_eq!(epoch.len(), s.num_batches(batch));
        for (i, b) in epoch.iter().enumerate() {
            assert_eq!(b.anchors.len(), b.partners.len());
            let want = if i + 1 < epoch.len() {
                batch
            } else {
                n - batch * (epoch.len() - 1)
            };
            assert_eq!(b.anchors.len(), want, "batch {batch}, chunk {i}");
        }
        let mut all: Vec<u32> = epoch
            .iter()
            .flat_map(|b| b.anchors.iter().copied())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..n as u32).collect::<Vec<_>>(), "batch {batch}");
    }
    // 103 = 3·32 + 7: the short last batch is kept.
    let e = s.epoch(&mut rng, 32).unwrap();
    assert_eq!(
        e.iter().map(|b| b.anchors.len()).collect::<Vec<_>>(),
        vec![32, 32, 32, 7]
    );
}

#[test]
fn partners_share_the_anchor_label_and_may_be_the_anchor() {
    let l = labels();
    let s = PairSampler::new(&l, 5).unwrap();
    let mut rng = Rng::new(2);
    let mut self_pairs = 0;
    let mut other_pairs = 0;
    for _ in 0..20 {
        for b in s.epoch(&mut rng, 16).unwrap() {
            for (&a, &p) in b.anchors.iter().zip(&b.partners) {
                assert_eq!(l[a as usize], l[p as usize], "anchor {a} partner {p}");
                if a == p {
                    self_pairs += 1;
                } else {
                    other_pairs += 1;
                }
                // The one-image class can only pair with itself.
                if l[a as usize] == 4 {
                    assert_eq!(a, p);
                }
            }
        }
    }
    // Class 2 (7 images) alone gives ~20·7/7 = 20 self pairs expected.
    assert!(self_pairs > 20, "self pairs {self_pairs}");
    assert!(other_pairs > self_pairs);
}

#[test]
fn epochs_are_deterministic_for_the_rng_state() {
    let l = labels();
    let s = PairSampler::new(&l, 5).unwrap();
    let (mut a, mut b) = (Rng::new(7), Rng::new(7));
    let e1 = s.epoch(&mut a, 16).unwrap();
    assert_eq!(e1, s.epoch(&mut b, 16).unwrap());
    // The stream goes on: the next epoch differs from the first, equally on both.
    let e2 = s.epoch(&mut a, 16).unwrap();
    assert_ne!(e1, e2);
    assert_eq!(e2, s.epoch(&mut b, 16).unwrap());
    // A checkpointed state continues the same stream.
    let mut c = Rng::new(a.state());
    assert_eq!(s.epoch(&mut a, 16).unwrap(), s.epoch(&mut c, 16).unwrap());
    // Another seed, another epoch.
    assert_ne!(e1, s.epoch(&mut Rng::new(8), 16).unwrap());
}

#[test]
fn plain_epoch_has_the_same_anchors_as_epoch() {
    let l = labels();
    let s = PairSampler::new(&l, 5).unwrap();
    let plain = s.plain_epoch(&mut Rng::new(3), 10).unwrap();
    let pairs = s.epoch(&mut Rng::new(3), 10).unwrap();
    assert_eq!(plain.len(), 11);
    assert_eq!(
        plain,
        pairs.into_iter().map(|b| b.anchors).collect::<Vec<_>>()
    );
}

#[test]
fn partners_are_roughly_uniform_within_a_class() {
    let l = labels();
    let s = PairSampler::new(&l, 5).unwrap();
    let members = s.class_members(0).to_vec();
    assert_eq!(members.len(), 50);
    let mut counts = vec![0f64; l.len()];
    let mut rng = Rng::new(4);
    for _ in 0..400 {
        for b in s.epoch(&mut rng, 32).unwrap() {
            for (&a, &p) in b.anchors.iter().zip(&b.partners) {
                if l[a as usize] == 0 {
                    counts[p as usize] += 1.0;
                }
            }
        }
    }
    let total: f64 = members.iter().map(|&m| counts[m as usize]).sum();
    assert_eq!(total, 400.0 * 50.0);
    let expected = total / 50.0;
    let chi2: f64 = members
        .iter()
        .map(|&m| (counts[m as usize] - expected).powi(2) / expected)
        .sum();
    // 49 degrees of freedom: mean 49, sd ≈ 9.9. A sampler that favours some members fails.
    assert!(chi2 < 110.0, "chi-square {chi2}");
    assert!(members.iter().all(|&m| counts[m as usize] > 0.0));
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let s = PairSampler::new(&labels(), 5).unwrap();
    assert!(matches!(
        s.epoch(&mut Rng::new(1), 0),
        Err(DataError::ZeroBatch)
    ));
    assert!(matches!(
        s.plain_epoch(&mut Rng::new(1), 0),
        Err(DataError::ZeroBatch)
    ));
    let e = PairSampler::new(&[0, 1, 7, 2], 5).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                record: 2,
                label: 7,
                num_classes: 5,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("label 7"), "{e}");
    let empty = PairSampler::new(&[], 10).unwrap();
    assert!(empty.epoch(&mut Rng::new(1), 8).unwrap().is_empty());
}

fn split_with(labels: Vec<u32>) -> Split {
    let n = labels.len();
    let mut images = vec![0u8; n * IMAGE_BYTES];
    for i in 0..n {
        images[i * IMAGE_BYTES] = i as u8; // tags the image with its index
    }
    let coarse = Some(labels.iter().map(|l| l / 2).collect());
    Split {
        images,
        labels,
        coarse,
    }
}

#[test]
fn balanced_subset_has_exact_counts_and_depends_only_on_the_seed() {
    let s = split_with(labels());
    let sub = s.balanced_subset(10, 5, 42);
    // Class sizes 50, 20, 7, 25, 1: capped at 10.
    assert_eq!(sub.class_counts(5), vec![10, 10, 7, 10, 1]);
    assert_eq!(sub.len(), 38);
    assert_eq!(sub.images.len(), 38 * IMAGE_BYTES);
    // Each image still carries its own labels.
    for i in 0..sub.len() {
        let orig = sub.image(i)[0] as usize;
        assert_eq!(sub.labels[i], s.labels[orig]);
        assert_eq!(sub.coarse.as_ref().unwrap()[i], s.labels[orig] / 2);
    }
    assert_eq!(sub, s.balanced_subset(10, 5, 42));
    assert_ne!(sub, s.balanced_subset(10, 5, 43));
    assert!(s.balanced_subset(0, 5, 1).is_empty());
    // Labels beyond num_classes are left out.
    assert_eq!(
        s.balanced_subset(100, 2, 1).class_counts(5),
        vec![50, 20, 0, 0, 0]
    );
}
