//! The real CIFAR-10 archive, wherever `cskd::data::locate` finds it ($CSKD_DATA, ../shared/data
//! beside a development clone, or the download cache the set-up filled).

use std::path::Path;
use std::time::Instant;

use cskd::data::{load, CifarKind};

fn archive() -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    cskd::data::locate::find_beside_repo(repo, CifarKind::Cifar10)
        .unwrap_or_else(|e| panic!("the real-data tests need CIFAR-10: {e}"))
}

#[test]
fn real_cifar10_archive_loads_with_official_shape() {
    let archive = archive();
    let path = archive.as_path();
    let t = Instant::now();
    let c = load(path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    eprintln!("decoded {} in {:.2?}", path.display(), t.elapsed());
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
