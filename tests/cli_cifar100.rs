//! CIFAR-100 end to end on a file this test writes (no CIFAR-100 is available offline): `train`
//! and `experiment` report the "closer wrong answers" metric, the share of errors inside the true
//! superclass, and `eval` prints it.

mod common {
    pub mod cli;
}

use common::cli::{cskd, ok, s, scratch};
use cskd::data::{
    default_class_names, default_coarse_class_names, write_archive, CifarKind, Split,
};
use cskd::rng::Rng;

/// 100 fine classes, 3 training and 1 test image each, random pixels; fine class f belongs to
/// superclass f / 5 (as a map only needs to be consistent).
fn tiny_cifar100() -> Vec<u8> {
    let mut rng = Rng::new(100);
    let split = |per_class: usize, rng: &mut Rng| {
        let labels: Vec<u32> = (0..100u32)
            .flat_map(|c| std::iter::repeat_n(c, per_class))
            .collect();
        let images = (0..labels.len() * 3072)
            .map(|_| (rng.next_f32() * 255.0) as u8)
            .collect();
        let coarse = labels.iter().map(|l| l / 5).collect();
        Split {
            images,
            labels,
            coarse: Some(coarse),
        }
    };
    let (train, test) = (split(3, &mut rng), split(1, &mut rng));
    write_archive(
        CifarKind::Cifar100,
        &train,
        &test,
        &default_class_names(CifarKind::Cifar100),
        Some(&default_coarse_class_names()),
    )
}

#[test]
fn cifar100_runs_report_the_superclass_share_of_errors() {
    let dir = scratch("cifar100");
    let data = dir.join("cifar-100-binary.tar.gz");
    std::fs::write(&data, tiny_cifar100()).unwrap();
    let out = dir.join("run");
    ok(&cskd(&[
        "train",
        "--data",
        s(&data),
        "--dataset",
        "cifar100",
        "--width",
        "4",
        "--epochs",
        "1",
        "--batch",
        "50",
        "--calibration-fraction",
        "0",
        "--quiet",
        "--out",
        s(&out),
    ]));
    let line = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let share = record["test"]["superclassShare"]
        .as_f64()
        .expect("a share on CIFAR-100");
    assert!((0.0..=1.0).contains(&share), "{share}");
    let o = cskd(&[
        "eval",
        "--checkpoint",
        s(&out.join("last.safetensors")),
        "--data",
        s(&data),
    ]);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    ok(&o);
    assert!(table.to_lowercase().contains("superclass"), "{table}");
    let grid = dir.join("grid");
    let o = cskd(&[
        "experiment",
        "--data",
        s(&data),
        "--width",
        "4",
        "--epochs",
        "1",
        "--batch",
        "50",
        "--calibration-fraction",
        "0",
        "--methods",
        "ce,cskd",
        "--seeds",
        "1",
        "--out",
        s(&grid),
    ]);
    ok(&o);
    let results = std::fs::read_to_string(grid.join("results.md")).unwrap();
    assert!(results.contains("superclass share"), "{results}");
}
