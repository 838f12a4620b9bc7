//! Readers and writers of the CIFAR binary formats: round trips and every kind of bad input.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cskd::data::{
    default_class_names, from_archive_bytes, from_bin_bytes, load, parse_records, write_archive,
    write_records, Cifar, CifarKind, DataError, Split, IMAGE_BYTES,
};
use cskd::rng::Rng;

fn random_split(kind: CifarKind, n: usize, num_classes: usize, seed: u64) -> Split {
    let mut rng = Rng::new(seed);
    let labels: Vec<u32> = (0..n).map(|_| rng.below(num_classes) as u32).collect();
    let coarse =
        (kind == CifarKind::Cifar100).then(|| (0..n).map(|_| rng.below(20) as u32).collect());
    let images = (0..n * IMAGE_BYTES).map(|_| rng.next_u32() as u8).collect();
    Split {
        images,
        labels,
        coarse,
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix} {i}")).collect()
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "cskd-data-test-{}-{}-{}",
        std::process::id(),
        tag,
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Member paths of a .tar.gz, in order.
fn member_paths(archive: &[u8]) -> Vec<String> {
    let tar = gunzip(archive);
    let mut ar = tar::Archive::new(&tar[..]);
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

/// The archive again without the members for which `drop` is true.
fn without_members(archive: &[u8], drop: impl Fn(&str) -> bool) -> Vec<u8> {
    let tar = gunzip(archive);
    let mut ar = tar::Archive::new(&tar[..]);
    let mut b = tar::Builder::new(Vec::new());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        if drop(&path) {
            continue;
        }
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let mut h = e.header().clone();
        b.append_data(&mut h, &path, &data[..]).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

fn dataset(kind: CifarKind, n_train: usize, n_test: usize) -> Cifar {
    let k = kind.num_classes();
    Cifar {
        kind,
        train: random_split(kind, n_train, k, 1),
        test: random_split(kind, n_test, k, 2),
        classes: names("fine", k),
        coarse_classes: (kind == CifarKind::Cifar100).then(|| names("coarse", 20)),
    }
}

fn archive_of(c: &Cifar) -> Vec<u8> {
    write_archive(
        c.kind,
        &c.train,
        &c.test,
        &c.classes,
        c.coarse_classes.as_deref(),
    )
}

#[test]
fn records_round_trip_both_kinds() {
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        let s = random_split(kind, 9, kind.num_classes(), 3);
        let bytes = write_records(kind, &s);
        assert_eq!(bytes.len(), 9 * kind.record_bytes());
        let back = parse_records(kind, "x.bin", &bytes, kind.num_classes()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.len(), 9);
        assert_eq!(back.image(4), &s.images[4 * IMAGE_BYTES..5 * IMAGE_BYTES]);
    }
    // The byte layout itself: CIFAR-100 is coarse, fine, then the pixels.
    let s = random_split(CifarKind::Cifar100, 2, 100, 4);
    let bytes = write_records(CifarKind::Cifar100, &s);
    assert_eq!(bytes[3074], s.coarse.as_ref().unwrap()[1] as u8);
    assert_eq!(bytes[3075], s.labels[1] as u8);
    assert_eq!(&bytes[3076..3076 + 3072], s.image(1));
}

#[test]
fn cifar10_archive_round_trip_uses_five_training_files() {
    let c = dataset(CifarKind::Cifar10, 23, 7);
    let archive = archive_of(&c);
    let members = member_paths(&archive);
    for i in 1..=5 {
        let m = format!("cifar-10-batches-bin/data_batch_{i}.bin");
        assert!(members.contains(&m), "{m} not in {members:?}");
    }
    assert!(members.contains(&"cifar-10-batches-bin/test_batch.bin".to_string()));
    assert!(members.contains(&"cifar-10-batches-bin/batches.meta.txt".to_string()));
    let back = from_archive_bytes("c10.tar.gz", &archive).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.num_classes(), 10);
    assert!(back.train.coarse.is_none());
}

#[test]
fn cifar10_archive_read_concatenates_batches_in_order_whatever_the_member_order() {
    let c = dataset(CifarKind::Cifar10, 20, 3);
    let archive = archive_of(&c);
    // Rebuild with the members reversed.
    let tar = gunzip(&archive);
    let mut ar = tar::Archive::new(&tar[..]);
    let mut members = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        members.push((
            e.header().clone(),
            e.path().unwrap().display().to_string(),
            data,
        ));
    }
    members.reverse();
    let mut b = tar::Builder::new(Vec::new());
    for (mut h, p, d) in members {
        b.append_data(&mut h, &p, &d[..]).unwrap();
    }
    let back = from_archive_bytes("rev.tar.gz", &gzip(&b.into_inner().unwrap())).unwrap();
    assert_eq!(back, c);
}

#[test]
fn cifar100_archive_round_trip_keeps_coarse_labels_and_names() {
    let c = dataset(CifarKind::Cifar100, 17, 5);
    let archive = archive_of(&c);
    let members = member_paths(&archive);
    for m in [
        "train.bin",
        "test.bin",
        "fine_label_names.txt",
        "coarse_label_names.txt",
    ] {
        assert!(
            members.contains(&format!("cifar-100-binary/{m}")),
            "{m} not in {members:?}"
        );
    }
    let back = from_archive_bytes("c100.tar.gz", &archive).unwrap();
    assert_eq!(back.kind, CifarKind::Cifar100);
    assert_eq!(back.train.coarse, c.train.coarse);
    assert_eq!(back.test.coarse, c.test.coarse);
    assert_eq!(back.coarse_classes.as_ref().unwrap()[19], "coarse 19");
    assert_eq!(back.classes[99], "fine 99");
    assert_eq!(back, c);
}

#[test]
fn loose_bin_splits_off_the_last_sixth_as_test_and_infers_the_kind() {
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        let all = random_split(kind, 13, kind.num_classes(), 5);
        let bytes = write_records(kind, &all);
        let c = from_bin_bytes("one.bin", &bytes, None).unwrap();
        assert_eq!(c.kind, kind);
        assert_eq!((c.train.len(), c.test.len()), (11, 2));
        assert_eq!(c.train, all.select(&(0..11).collect::<Vec<_>>()));
        assert_eq!(c.test, all.select(&[11, 12]));
        assert_eq!(c.classes, default_class_names(kind));
        assert_eq!(c.coarse_classes.is_some(), kind == CifarKind::Cifar100);
        // Told the kind explicitly: same result.
        assert_eq!(from_bin_bytes("one.bin", &bytes, Some(kind)).unwrap(), c);
    }
    let c10 = from_bin_bytes(
        "a.bin",
        &write_records(
            CifarKind::Cifar10,
            &random_split(CifarKind::Cifar10, 6, 10, 1),
        ),
        None,
    )
    .unwrap();
    assert_eq!(c10.classes[0], "airplane");
    assert_eq!(c10.classes[9], "truck");
    let c100 = from_bin_bytes(
        "b.bin",
        &write_records(
            CifarKind::Cifar100,
            &random_split(CifarKind::Cifar100, 6, 100, 1),
        ),
        None,
    )
    .unwrap();
    assert_eq!(c100.classes[42], "class 42");
    assert_eq!(c100.classes.len(), 100);
}

#[test]
fn loose_bin_of_neither_or_both_record_sizes_is_an_error() {
    let e = from_bin_bytes("odd.bin", &[0u8; 100], None).unwrap_err();
    assert!(matches!(e, DataError::UnknownRecordSize { .. }), "{e:?}");
    assert!(e.to_string().contains("odd.bin"), "{e}");
    let both = vec![0u8; 3073 * 3074];
    let e = from_bin_bytes("both.bin", &both, None).unwrap_err();
    assert!(matches!(e, DataError::AmbiguousRecordSize { .. }), "{e:?}");
    assert!(e.to_string().contains("both.bin"), "{e}");
    // Telling the kind resolves it.
    let c = from_bin_bytes("both.bin", &both, Some(CifarKind::Cifar100)).unwrap();
    assert_eq!(c.train.len() + c.test.len(), 3073);
}

#[test]
fn load_reads_archive_extracted_directory_and_loose_bin() {
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        let c = dataset(kind, 12, 6);
        let dir = temp_dir("load");
        let archive = archive_of(&c);
        let path = dir.join("data.tar.gz");
        write(&path, &archive);
        assert_eq!(load(&path).unwrap(), c);
        // Sniffed by magic, not by name.
        let odd = dir.join("data.bin");
        write(&odd, &archive);
        assert_eq!(load(&odd).unwrap(), c);

        let x = dir.join("x");
        tar::Archive::new(&gunzip(&archive)[..]).unpack(&x).unwrap();
        let sub = x.join(match kind {
            CifarKind::Cifar10 => "cifar-10-batches-bin",
            CifarKind::Cifar100 => "cifar-100-binary",
        });
        assert_eq!(load(&sub).unwrap(), c, "extracted directory");
        assert_eq!(load(&x).unwrap(), c, "its parent");

        // A loose .bin beside the meta files takes its names from them.
        let test_file = sub.join(match kind {
            CifarKind::Cifar10 => "test_batch.bin",
            CifarKind::Cifar100 => "test.bin",
        });
        let l = load(&test_file).unwrap();
        assert_eq!(l.kind, kind);
        assert_eq!((l.train.len(), l.test.len()), (5, 1));
        assert_eq!(l.classes, c.classes);
        assert_eq!(l.coarse_classes, c.coarse_classes);
        let mut joined = l.train.clone();
        joined.images.extend_from_slice(&l.test.images);
        joined.labels.extend_from_slice(&l.test.labels);
        if let (Some(a), Some(b)) = (joined.coarse.as_mut(), l.test.coarse.as_ref()) {
            a.extend_from_slice(b);
        }
        assert_eq!(joined, c.test);

        // A loose .bin alone gets the default names.
        let alone = dir.join("alone.bin");
        write(&alone, &write_records(kind, &c.train));
        let l = load(&alone).unwrap();
        assert_eq!(l.classes, default_class_names(kind));
        assert_eq!((l.train.len(), l.test.len()), (10, 2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn assert_names(e: &DataError, what: &str) {
    assert!(
        e.to_string().contains(what),
        "message does not name {what:?}: {e}"
    );
}

#[test]
fn truncated_file_is_reported_with_sizes() {
    let bytes = write_records(
        CifarKind::Cifar10,
        &random_split(CifarKind::Cifar10, 3, 10, 1),
    );
    let cut = &bytes[..bytes.len() - 10];
    let e = parse_records(CifarKind::Cifar10, "data_batch_1.bin", cut, 10).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Truncated {
                len: 9209,
                record_bytes: 3073,
                left_over: 3063,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, "data_batch_1.bin");
    assert_names(&e, "9209 bytes");
    assert_names(&e, "3073");

    // Inside an archive the message names the archive and the member.
    let c = dataset(CifarKind::Cifar10, 5, 5);
    let mut test = write_records(CifarKind::Cifar10, &c.test);
    test.truncate(test.len() - 1);
    let tar = gunzip(&archive_of(&c));
    let mut ar = tar::Archive::new(&tar[..]);
    let mut b = tar::Builder::new(Vec::new());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if p.ends_with("test_batch.bin") {
            data = test.clone();
        }
        let mut h = e.header().clone();
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, &p, &data[..]).unwrap();
    }
    let e = from_archive_bytes("short.tar.gz", &gzip(&b.into_inner().unwrap())).unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. }), "{e:?}");
    assert_names(&e, "short.tar.gz");
    assert_names(&e, "cifar-10-batches-bin/test_batch.bin");
}

#[test]
fn empty_files_are_reported() {
    let e = parse_records(CifarKind::Cifar10, "empty.bin", &[], 10).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e:?}");
    assert_names(&e, "empty.bin");
    let e = from_bin_bytes("empty2.bin", &[], None).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e:?}");
    let e = from_archive_bytes("empty.tar.gz", &[]).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e:?}");
    assert_names(&e, "empty.tar.gz");

    let dir = temp_dir("empty");
    let p = dir.join("nothing.bin");
    write(&p, &[]);
    let e = load(&p).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e:?}");
    assert_names(&e, &p.display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn non_gzip_archive_is_reported() {
    let e = from_archive_bytes("fake.tar.gz", b"PK\x03\x04 this is a zip").unwrap_err();
    assert!(matches!(e, DataError::NotGzip { .. }), "{e:?}");
    assert_names(&e, "fake.tar.gz");
    assert_names(&e, "50 4b 03 04");

    // An uncompressed tar gets a hint.
    let c = dataset(CifarKind::Cifar10, 5, 5);
    let e = from_archive_bytes("plain.tar", &gunzip(&archive_of(&c))).unwrap_err();
    assert!(matches!(e, DataError::NotGzip { .. }), "{e:?}");
    assert_names(&e, "uncompressed tar");

    // load: a file named like an archive that is not gzip.
    let dir = temp_dir("notgz");
    let p = dir.join("cifar-10-binary.tar.gz");
    write(&p, b"<html>404 not found</html>");
    let e = load(&p).unwrap_err();
    assert!(matches!(e, DataError::NotGzip { .. }), "{e:?}");
    assert_names(&e, &p.display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gzip_that_is_not_tar_is_reported() {
    let mut rng = Rng::new(9);
    let junk: Vec<u8> = (0..5000).map(|_| rng.next_u32() as u8).collect();
    let e = from_archive_bytes("junk.tar.gz", &gzip(&junk)).unwrap_err();
    assert!(matches!(e, DataError::NotTar { .. }), "{e:?}");
    assert_names(&e, "junk.tar.gz");
    let e = from_archive_bytes("short.gz", &gzip(b"hello")).unwrap_err();
    assert!(matches!(e, DataError::NotTar { .. }), "{e:?}");
    let e = from_archive_bytes("nothing.gz", &gzip(b"")).unwrap_err();
    assert!(matches!(e, DataError::NotTar { .. }), "{e:?}");
    assert_names(&e, "nothing.gz");
}

#[test]
fn cut_off_gzip_download_is_reported_as_corrupt_gzip() {
    let c = dataset(CifarKind::Cifar10, 40, 10);
    let archive = archive_of(&c);
    let e = from_archive_bytes("partial.tar.gz", &archive[..archive.len() / 2]).unwrap_err();
    assert!(matches!(e, DataError::CorruptGzip { .. }), "{e:?}");
    assert_names(&e, "partial.tar.gz");
}

#[test]
fn label_out_of_range_names_the_record_and_label() {
    let mut s = random_split(CifarKind::Cifar10, 4, 10, 1);
    s.labels[2] = 10;
    let e = parse_records(
        CifarKind::Cifar10,
        "bad.bin",
        &write_records(CifarKind::Cifar10, &s),
        10,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                record: 2,
                label: 10,
                num_classes: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, "bad.bin");
    assert_names(&e, "record 2");
    assert_names(&e, "label 10");

    let mut s = random_split(CifarKind::Cifar100, 4, 100, 1);
    s.labels[3] = 100;
    let e = parse_records(
        CifarKind::Cifar100,
        "fine.bin",
        &write_records(CifarKind::Cifar100, &s),
        100,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                record: 3,
                label: 100,
                which: "fine label",
                ..
            }
        ),
        "{e:?}"
    );
    let mut s = random_split(CifarKind::Cifar100, 4, 100, 1);
    s.coarse.as_mut().unwrap()[1] = 20;
    let e = parse_records(
        CifarKind::Cifar100,
        "coarse.bin",
        &write_records(CifarKind::Cifar100, &s),
        100,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                record: 1,
                label: 20,
                which: "coarse label",
                num_classes: 20,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, "coarse.bin");

    // A smaller class count given by the caller is honoured too.
    let s = Split {
        images: vec![0; IMAGE_BYTES],
        labels: vec![5],
        coarse: None,
    };
    let e = parse_records(
        CifarKind::Cifar10,
        "five.bin",
        &write_records(CifarKind::Cifar10, &s),
        3,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                label: 5,
                num_classes: 3,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn cifar10_file_read_as_cifar100_says_so() {
    let bytes = write_records(
        CifarKind::Cifar10,
        &random_split(CifarKind::Cifar10, 5, 10, 1),
    );
    let e = parse_records(CifarKind::Cifar100, "train.bin", &bytes, 100).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::WrongVariant {
                expected: CifarKind::Cifar100,
                found: CifarKind::Cifar10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, "train.bin");
    assert_names(
        &e,
        "looks like CIFAR-10 (3073-byte records) but read as CIFAR-100",
    );
    let e = from_bin_bytes("train.bin", &bytes, Some(CifarKind::Cifar100)).unwrap_err();
    assert!(matches!(e, DataError::WrongVariant { .. }), "{e:?}");

    let bytes = write_records(
        CifarKind::Cifar100,
        &random_split(CifarKind::Cifar100, 5, 100, 1),
    );
    let e = parse_records(CifarKind::Cifar10, "x.bin", &bytes, 10).unwrap_err();
    assert_names(
        &e,
        "looks like CIFAR-100 (3074-byte records) but read as CIFAR-10",
    );
}

#[test]
fn missing_archive_member_is_named() {
    let c = dataset(CifarKind::Cifar10, 10, 5);
    let archive = archive_of(&c);
    let cut = without_members(&archive, |p| p.ends_with("data_batch_3.bin"));
    let e = from_archive_bytes("c10.tar.gz", &cut).unwrap_err();
    match &e {
        DataError::MissingMember { container, member } => {
            assert_eq!(container, "c10.tar.gz");
            assert_eq!(member, "cifar-10-batches-bin/data_batch_3.bin");
        }
        other => panic!("expected MissingMember, got {other:?}"),
    }
    assert_names(&e, "c10.tar.gz");
    assert_names(&e, "cifar-10-batches-bin/data_batch_3.bin");

    let cut = without_members(&archive, |p| p.ends_with("batches.meta.txt"));
    let e = from_archive_bytes("c10.tar.gz", &cut).unwrap_err();
    assert!(
        matches!(&e, DataError::MissingMember { member, .. } if member == "cifar-10-batches-bin/batches.meta.txt"),
        "{e:?}"
    );

    let c = dataset(CifarKind::Cifar100, 10, 5);
    let cut = without_members(&archive_of(&c), |p| p.ends_with("coarse_label_names.txt"));
    let e = from_archive_bytes("c100.tar.gz", &cut).unwrap_err();
    assert!(
        matches!(&e, DataError::MissingMember { member, .. } if member == "cifar-100-binary/coarse_label_names.txt"),
        "{e:?}"
    );

    // An extracted directory with a file missing.
    let dir = temp_dir("missing");
    tar::Archive::new(&gunzip(&archive)[..])
        .unpack(&dir)
        .unwrap();
    let sub = dir.join("cifar-10-batches-bin");
    std::fs::remove_file(sub.join("test_batch.bin")).unwrap();
    let e = load(&sub).unwrap_err();
    assert!(
        matches!(&e, DataError::MissingMember { member, .. } if member == "test_batch.bin"),
        "{e:?}"
    );
    assert_names(&e, &sub.display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn archive_of_something_else_is_reported() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "photos/cat.jpg", &b"abc"[..])
        .unwrap();
    let e = from_archive_bytes("photos.tar.gz", &gzip(&b.into_inner().unwrap())).unwrap_err();
    assert!(matches!(e, DataError::UnknownLayout { .. }), "{e:?}");
    assert_names(&e, "photos.tar.gz");
    assert_names(&e, "photos/cat.jpg");

    let dir = temp_dir("unknown");
    let e = load(&dir).unwrap_err();
    assert!(matches!(e, DataError::UnknownLayout { .. }), "{e:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_number_of_class_names_is_reported() {
    let mut c = dataset(CifarKind::Cifar10, 5, 5);
    c.classes.pop();
    let e = from_archive_bytes("nine.tar.gz", &archive_of(&c)).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadClassNames {
                expected: 10,
                found: 9,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, "batches.meta.txt");
}

#[test]
fn io_errors_name_the_path() {
    let p = std::env::temp_dir().join("cskd-data-test-does-not-exist/cifar.tar.gz");
    let e = load(&p).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }), "{e:?}");
    assert_names(&e, &p.display().to_string());
}

#[test]
fn kind_serialises_lowercase() {
    assert_eq!(
        serde_json::to_string(&CifarKind::Cifar10).unwrap(),
        "\"cifar10\""
    );
    assert_eq!(
        serde_json::to_string(&CifarKind::Cifar100).unwrap(),
        "\"cifar100\""
    );
    let k: CifarKind = serde_json::from_str("\"cifar100\"").unwrap();
    assert_eq!(k, CifarKind::Cifar100);
    assert_eq!(CifarKind::Cifar10.record_bytes(), 3073);
    assert_eq!(CifarKind::Cifar100.record_bytes(), 3074);
}

#[test]
fn flipped_byte_in_archive_is_caught_by_the_gzip_checksum() {
    let c = dataset(CifarKind::Cifar10, 40, 10);
    let mut archive = archive_of(&c);
    let mid = archive.len() / 2;
    archive[mid] ^= 0x55;
    let e = from_archive_bytes("flipped.tar.gz", &archive).unwrap_err();
    assert!(matches!(e, DataError::CorruptGzip { .. }), "{e:?}");
    assert_names(&e, "flipped.tar.gz");
}

// ---- Bounded, non-blocking reads: what is not a regular file, or too large to be CIFAR, is
// refused at once with the file's name (these used to block forever or read until OOM).

/// Runs `f` on another thread; a hang fails the test instead of stalling the suite.
fn without_hanging<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the reader blocked (hang guard: no answer in 120 s)")
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(ok.success(), "mkfifo {}", path.display());
}

fn load_err(path: &Path) -> String {
    let p = path.to_path_buf();
    without_hanging(move || load(&p).map(|c| c.kind))
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn dev_zero_is_refused_as_a_device() {
    let e = load_err(Path::new("/dev/zero"));
    assert!(
        e.contains("/dev/zero") && e.contains("character device"),
        "{e}"
    );
}

#[test]
fn fifo_without_a_writer_is_refused_not_waited_on() {
    let d = temp_dir("fifo");
    let f = d.join("data.bin");
    mkfifo(&f);
    let e = load_err(&f);
    assert!(e.contains("data.bin") && e.contains("FIFO"), "{e}");
}

#[test]
fn fifo_fed_from_dev_zero_is_refused() {
    let d = temp_dir("fifo-zero");
    let f = d.join("cifar-10-binary.tar.gz");
    mkfifo(&f);
    // The writer blocks in open() until a reader comes; none should.
    let mut writer = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("cat /dev/zero > '{}'", f.display()))
        .spawn()
        .unwrap();
    let e = load_err(&f);
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert!(e.contains("FIFO"), "{e}");
}

#[test]
fn huge_sparse_file_is_refused_by_its_size() {
    let d = temp_dir("sparse");
    let f = d.join("huge.bin");
    // 3073 × 3074 × 1000 bytes (29 GB, no disk used): would fit both record sizes.
    std::fs::File::create(&f)
        .unwrap()
        .set_len(3073 * 3074 * 1000)
        .unwrap();
    let e = load_err(&f);
    assert!(e.contains("huge.bin") && e.contains("larger than"), "{e}");
    assert!(
        e.contains(&cskd::data::limits::MAX_DATA_FILE.to_string()),
        "{e}"
    );
}

#[test]
fn a_fifo_inside_a_data_directory_is_refused_by_name() {
    let c = dataset(CifarKind::Cifar10, 10, 5);
    let d = temp_dir("dir-fifo");
    let layout = d.join("cifar-10-batches-bin");
    std::fs::create_dir(&layout).unwrap();
    let tar = gunzip(&archive_of(&c));
    tar::Archive::new(&tar[..]).unpack(&d).unwrap();
    std::fs::remove_file(layout.join("data_batch_3.bin")).unwrap();
    mkfifo(&layout.join("data_batch_3.bin"));
    let e = load_err(&d);
    assert!(e.contains("data_batch_3.bin") && e.contains("FIFO"), "{e}");
    // A device in place of a class-name file, via a symbolic link.
    std::fs::remove_file(layout.join("data_batch_3.bin")).unwrap();
    std::fs::remove_file(layout.join("batches.meta.txt")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", layout.join("batches.meta.txt")).unwrap();
    std::fs::write(
        layout.join("data_batch_3.bin"),
        write_records(CifarKind::Cifar10, &c.train.select(&[0])),
    )
    .unwrap();
    let e = load_err(&layout);
    assert!(
        e.contains("batches.meta.txt") && e.contains("character device"),
        "{e}"
    );
}

#[test]
fn a_fifo_beside_a_loose_bin_as_its_class_names_is_refused() {
    let d = temp_dir("names-fifo");
    let s = random_split(CifarKind::Cifar10, 6, 10, 9);
    write(&d.join("x.bin"), &write_records(CifarKind::Cifar10, &s));
    mkfifo(&d.join("batches.meta.txt"));
    let e = load_err(&d.join("x.bin"));
    assert!(e.contains("batches.meta.txt") && e.contains("FIFO"), "{e}");
}

/// A gzip'd tar holding one layout member of `size` zero bytes (compresses ~1000:1).
fn bomb(member: &str, size: u64) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut b = tar::Builder::new(&mut gz);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(size);
        h.set_cksum();
        b.append_data(&mut h, member, std::io::repeat(0).take(size))
            .unwrap();
        b.finish().unwrap();
    }
    gz.finish().unwrap()
}

#[test]
fn an_archive_member_larger_than_any_cifar_file_is_refused() {
    let limit = cskd::data::limits::max_bin_bytes(CifarKind::Cifar10);
    let a = bomb("cifar-10-batches-bin/data_batch_1.bin", limit + 3073);
    let e = from_archive_bytes("bomb.tar.gz", &a)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bomb.tar.gz") && e.contains("data_batch_1.bin") && e.contains("larger than"),
        "{e}"
    );
}

#[test]
fn an_archive_that_unpacks_past_the_limit_is_refused() {
    // A member no layout uses, so only the total decides.
    let a = bomb("junk/filler", cskd::data::limits::MAX_UNPACKED + 1);
    let e = from_archive_bytes("bomb.tar.gz", &a)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bomb.tar.gz") && e.contains("unpacked archive"),
        "{e}"
    );
}

#[test]
fn the_given_kind_decides_a_file_that_fits_both_record_sizes() {
    // 3073 × 3074 bytes: 3074 CIFAR-10 records or 3073 CIFAR-100 records (all labels 0).
    let bytes = vec![0u8; 3073 * 3074];
    let e = from_bin_bytes("both.bin", &bytes, None).unwrap_err();
    assert!(matches!(e, DataError::AmbiguousRecordSize { .. }), "{e}");
    let d = temp_dir("both");
    let f = d.join("both.bin");
    write(&f, &bytes);
    assert!(load(&f).is_err());
    let ten = cskd::data::load_as(&f, Some(CifarKind::Cifar10)).unwrap();
    assert_eq!(
        (ten.kind, ten.train.len() + ten.test.len()),
        (CifarKind::Cifar10, 3074)
    );
    let hundred = cskd::data::load_as(&f, Some(CifarKind::Cifar100)).unwrap();
    assert_eq!(
        (hundred.kind, hundred.train.len() + hundred.test.len()),
        (CifarKind::Cifar100, 3073)
    );
    // For an archive the content decides, and a different --dataset is an error.
    let a = d.join("c10.tar.gz");
    write(&a, &archive_of(&dataset(CifarKind::Cifar10, 6, 6)));
    let e = cskd::data::load_as(&a, Some(CifarKind::Cifar100)).unwrap_err();
    assert!(
        e.to_string().contains("holds CIFAR-10, but CIFAR-100"),
        "{e}"
    );
}
