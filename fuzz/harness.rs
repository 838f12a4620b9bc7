//! Fuzz harness bodies, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly) and
//! the regression test `tests/fuzz_regressions.rs` (stable, in CI), which both include this file.
//! Each body feeds arbitrary bytes to a parser through the public API and checks that a success
//! is self-consistent; any panic is a bug. Errors are fine: they are the parsers' answer.

#![allow(dead_code)]

use cskd::data::{self, Cifar, CifarKind, IMAGE_BYTES, NUM_COARSE_CLASSES};
use std::path::{Path, PathBuf};

/// Names of the fuzz targets, which are also the corpus folders.
pub const TARGETS: [&str; 7] = [
    "archive",
    "bin",
    "dir",
    "checkpoint",
    "config",
    "state_dict",
    "grid",
];

/// Runs the harness of `target` on `bytes`; true when the parser accepted the input.
pub fn run(target: &str, bytes: &[u8]) -> bool {
    match target {
        "archive" => archive(bytes),
        "bin" => bin(bytes),
        "dir" => dir(bytes),
        "checkpoint" => checkpoint(bytes),
        "config" => config(bytes),
        "state_dict" => state_dict(bytes),
        "grid" => grid(bytes),
        _ => panic!("unknown fuzz target {target}"),
    }
}

/// What every successfully read data set must satisfy.
fn check_cifar(c: &Cifar) {
    let k = c.kind.num_classes();
    assert_eq!(c.classes.len(), k, "class names");
    for s in [&c.train, &c.test] {
        assert_eq!(s.images.len(), s.len() * IMAGE_BYTES, "image bytes");
        assert!(s.labels.iter().all(|&l| (l as usize) < k), "fine labels");
        match (c.kind, &s.coarse) {
            (CifarKind::Cifar10, None) => {}
            (CifarKind::Cifar100, Some(coarse)) => {
                assert_eq!(coarse.len(), s.len(), "coarse labels");
                assert!(coarse.iter().all(|&l| (l as usize) < NUM_COARSE_CLASSES));
            }
            (kind, coarse) => panic!("{kind} with coarse labels {:?}", coarse.is_some()),
        }
    }
    assert_eq!(
        c.coarse_classes.as_ref().map(Vec::len),
        (c.kind == CifarKind::Cifar100).then_some(NUM_COARSE_CLASSES)
    );
}

/// A `.tar.gz` archive held in memory.
pub fn archive(bytes: &[u8]) -> bool {
    let read = data::from_archive_bytes("fuzz.tar.gz", bytes);
    if let Ok(c) = &read {
        check_cifar(c);
    }
    read.is_ok()
}

/// A loose `.bin` file. The first byte picks the kind hint (none, CIFAR-10, CIFAR-100).
pub fn bin(bytes: &[u8]) -> bool {
    let Some((&hint, body)) = bytes.split_first() else {
        return false;
    };
    let kind = match hint % 3 {
        0 => None,
        1 => Some(CifarKind::Cifar10),
        _ => Some(CifarKind::Cifar100),
    };
    let read = data::from_bin_bytes("fuzz.bin", body, kind);
    if let Ok(c) = &read {
        check_cifar(c);
        assert!(kind.is_none_or(|k| k == c.kind), "the hint decides");
        assert_eq!(
            (c.train.len() + c.test.len()) * c.kind.record_bytes(),
            body.len(),
            "every record read"
        );
        assert_eq!(
            c.test.len(),
            (c.train.len() + c.test.len()) / 6,
            "test split"
        );
    }
    read.is_ok()
}

/// File names the directory harness can create: both layouts' files, then names no layout uses.
const DIR_FILES: [&str; 13] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
    "batches.meta.txt",
    "train.bin",
    "test.bin",
    "fine_label_names.txt",
    "coarse_label_names.txt",
    "readme.html",
    "x.bin",
];

/// A fresh scratch directory per call (tests run in parallel threads; tmpfs when there is one:
/// the harness writes a lot).
fn scratch_root() -> PathBuf {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() {
        base.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("cskd-fuzz-dir-{}-{call}", std::process::id()))
}

/// An extracted data directory, built from the input as a list of entries, each
/// `[sel, len, len bytes…]`:
/// - `sel & 15` picks the name in [`DIR_FILES`] (modulo its length);
/// - `sel & 16` puts it in the layout folder (`cifar-10-batches-bin/` or `cifar-100-binary/`,
///   as `sel & 128` says) instead of the top;
/// - `sel & 32` makes a directory of that name instead of a file;
/// - `sel & 64` expands the bytes: a `.bin` gets one record per byte (that byte as every label
///   byte, zero pixels), a name file `len` lines of names; else the bytes are the content.
///
/// The top directory is loaded, then `x.bin` at the top as a loose file (with any class-name
/// file beside it), then each layout folder that was made.
pub fn dir(bytes: &[u8]) -> bool {
    let root = scratch_root();
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("scratch directory");
    let mut rest = bytes;
    let mut folders = Vec::new();
    while let [sel, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        let name = DIR_FILES[(sel & 15) as usize % DIR_FILES.len()];
        let folder = if sel & 128 != 0 {
            "cifar-100-binary"
        } else {
            "cifar-10-batches-bin"
        };
        let parent = if sel & 16 != 0 {
            folders.push(folder);
            root.join(folder)
        } else {
            root.clone()
        };
        let _ = std::fs::create_dir_all(&parent);
        let path = parent.join(name);
        if sel & 32 != 0 {
            let _ = std::fs::create_dir_all(&path);
            continue;
        }
        let content = if sel & 64 != 0 {
            expand(name, folder, body)
        } else {
            body.to_vec()
        };
        let _ = std::fs::write(&path, content);
    }
    let mut accepted = false;
    let loose = root.join("x.bin");
    let folders = folders.iter().map(|f| root.join(f));
    for dir in [root.clone(), loose].into_iter().chain(folders) {
        if let Ok(c) = data::load(&dir) {
            check_cifar(&c);
            accepted = true;
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    accepted
}

fn expand(name: &str, folder: &str, body: &[u8]) -> Vec<u8> {
    if name.ends_with(".txt") {
        return (0..body.len())
            .flat_map(|i| format!("class {i}\n").into_bytes())
            .collect();
    }
    let label_bytes = if folder == "cifar-100-binary" { 2 } else { 1 };
    let mut out = Vec::new();
    for &b in body {
        out.extend(std::iter::repeat_n(b, label_bytes));
        out.extend(std::iter::repeat_n(0u8, IMAGE_BYTES));
    }
    out
}

/// A checkpoint's metadata, read without a GPU.
pub fn checkpoint(bytes: &[u8]) -> bool {
    let Ok(info) = cskd::train::checkpoint::info(bytes) else {
        return false;
    };
    // What `info` accepts, a trainer is built from: validating it must not panic either.
    let _ = info.model.validate();
    if let Some(c) = info.config {
        let _ = c.validate();
    }
    true
}

/// The JS API's configuration object, as JSON text.
pub fn config(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(c) = cskd::train::TrainConfig::from_json(text) else {
        return false;
    };
    {
        c.validate().expect("from_json validated it");
        let again = serde_json::to_string(&c).expect("serialises");
        let back = cskd::train::TrainConfig::from_json(&again)
            .unwrap_or_else(|e| panic!("{again} does not parse back: {e}"));
        assert_eq!(back, c, "JSON round trip");
    }
    true
}

/// The model tensors of a SmallCNN of width 4 (PyTorch names), as `--init` / `eval` want them.
const SMALLCNN_W4: [(&str, &[usize]); 27] = [
    ("features.0.weight", &[4, 3, 3, 3]),
    ("features.1.weight", &[4]),
    ("features.1.bias", &[4]),
    ("features.1.running_mean", &[4]),
    ("features.1.running_var", &[4]),
    ("features.3.weight", &[4, 4, 3, 3]),
    ("features.4.weight", &[4]),
    ("features.4.bias", &[4]),
    ("features.4.running_mean", &[4]),
    ("features.4.running_var", &[4]),
    ("features.7.weight", &[8, 4, 3, 3]),
    ("features.8.weight", &[8]),
    ("features.8.bias", &[8]),
    ("features.8.running_mean", &[8]),
    ("features.8.running_var", &[8]),
    ("features.10.weight", &[8, 8, 3, 3]),
    ("features.11.weight", &[8]),
    ("features.11.bias", &[8]),
    ("features.11.running_mean", &[8]),
    ("features.11.running_var", &[8]),
    ("features.14.weight", &[16, 8, 3, 3]),
    ("features.15.weight", &[16]),
    ("features.15.bias", &[16]),
    ("features.15.running_mean", &[16]),
    ("features.15.running_var", &[16]),
    ("fc.weight", &[10, 16]),
    ("fc.bias", &[10]),
];

/// A safetensors file read as a SmallCNN's state_dict (the `--init` / `eval` / teacher path,
/// without a GPU): what is accepted has every tensor, at its shape, finite, variances ≥ 0.
pub fn state_dict(bytes: &[u8]) -> bool {
    use cskd::train::state_dict::{check_all, read, Want};
    let Ok(st) = safetensors::SafeTensors::deserialize(bytes) else {
        return false;
    };
    let _ = check_all(&st);
    let want: Vec<Want> = SMALLCNN_W4
        .iter()
        .map(|(name, shape)| Want {
            name: name.to_string(),
            shape,
            required: true,
        })
        .collect();
    let model = cskd::model::ModelConfig {
        name: cskd::model::ModelName::Smallcnn,
        width: 4,
        classes: 10,
    };
    let known = |n: &str| n.starts_with('_') || n.ends_with(".num_batches_tracked");
    let Ok(values) = read(&st, &want, &model, known) else {
        return false;
    };
    for ((name, shape), v) in SMALLCNN_W4.iter().zip(&values) {
        let v = v.as_ref().expect("required tensors are all there");
        assert_eq!(v.len(), shape.iter().product::<usize>(), "{name}");
        assert!(v.iter().all(|x| x.is_finite()), "{name} finite");
        assert!(!name.ends_with("running_var") || v.iter().all(|x| *x >= 0.0));
    }
    true
}

/// `cskd experiment`'s method × seed grid as text: methods, a newline, seeds.
pub fn grid(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(g) = cskd::train::grid::Grid::parse(text) else {
        return false;
    };
    let names: std::collections::HashSet<_> = g.methods.iter().map(|m| &m.name).collect();
    assert_eq!(names.len(), g.methods.len(), "each method once");
    let seeds: std::collections::HashSet<_> = g.seeds.iter().collect();
    assert_eq!(seeds.len(), g.seeds.len(), "each seed once");
    assert!(!g.methods.is_empty() && !g.seeds.is_empty());
    for m in &g.methods {
        assert_eq!(
            cskd::train::grid::MethodSpec::parse(&m.name).as_ref().ok(),
            Some(m),
            "a method's name parses back to it"
        );
    }
    true
}
