//! The real CIFAR-10 archive in shared/data (the repository sits beside shared/).

use std::path::Path;
use std::time::Instant;

use cskd::data::{load, CifarKind};

const ARCHIVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/cifar-10-binary.tar.gz"
);

#[test]
fn real_cifar10_archive_loads_with_official_shape() {
    let path = Path::new(ARCHIVE);
    assert!(
        path.is_file(),
        "the real CIFAR-10 archive is missing at {ARCHIVE} (shared/data/cifar-10-binary.tar.gz beside the repository)"
    );
    let t = Instant::now();
    let c = load(path).unwrap_or_else(|e| panic!("loading {ARCHIVE}: {e}"));
    eprintln!("decoded {ARCHIVE} in {:.2?}", t.elapsed());
    assert_eq!(c.kind, CifarKind::Cifar10);
    assert_eq!(c.train.len(), 50_000);
    assert_eq!(c.test.len(), 10_000);
    assert_eq!(c.train.images.len(), 50_000 * 3072);
    assert_eq!(c.num_classes(), 10);
    assert_eq!(c.classes.len(), 10);
    assert_eq!(c.classes[0], "airplane");
    assert_eq!(c.classes[9], "truck");
    assert_eq!(c.test.class_counts(10), vec![1000; 10]);
    assert_eq!(c.train.class_counts(10), vec![5000; 10]);
    assert!(c.train.coarse.is_none());
    // Real photos, not blank records: pixel values spread over the range.
    let img = c.test.image(0);
    let (lo, hi) = (img.iter().min().unwrap(), img.iter().max().unwrap());
    assert!(hi - lo > 50, "image 0 spans only {lo}..{hi}");
}
