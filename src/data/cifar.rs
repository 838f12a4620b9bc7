//! One CIFAR binary file: records to a `Split` and back, and class-name files.

use super::{CifarKind, DataError, Split, IMAGE_BYTES, NUM_COARSE_CLASSES};

/// Parses a whole CIFAR binary file (`data_batch_N.bin`, `test_batch.bin`, `train.bin`, `test.bin`).
///
/// A CIFAR-10 record is 1 label byte + 3072 pixel bytes; a CIFAR-100 record is a coarse label
/// byte, a fine label byte + 3072 pixel bytes. Fine labels must be `< num_classes`, CIFAR-100
/// coarse labels `< 20`. `name` is only used in error messages.
pub fn parse_records(
    kind: CifarKind,
    name: &str,
    bytes: &[u8],
    num_classes: usize,
) -> Result<Split, DataError> {
    let mut split = Split::default();
    parse_into(kind, name, bytes, num_classes, &mut split)?;
    Ok(split)
}

/// Checks the size of a CIFAR file of `kind` and returns its number of records.
pub(crate) fn record_count(kind: CifarKind, name: &str, len: usize) -> Result<usize, DataError> {
    let rb = kind.record_bytes();
    if len == 0 {
        return Err(DataError::Empty { name: name.into() });
    }
    if len.is_multiple_of(rb) {
        return Ok(len / rb);
    }
    let other = kind.other();
    if len.is_multiple_of(other.record_bytes()) {
        return Err(DataError::WrongVariant {
            name: name.into(),
            expected: kind,
            expected_bytes: rb,
            found: other,
            found_bytes: other.record_bytes(),
            len,
        });
    }
    Err(DataError::Truncated {
        name: name.into(),
        kind,
        len,
        record_bytes: rb,
        records: len / rb,
        left_over: len % rb,
    })
}

/// Infers the kind of a loose file from its size: it must be a whole number of records of
/// exactly one kind.
pub(crate) fn infer_kind(name: &str, len: usize) -> Result<CifarKind, DataError> {
    if len == 0 {
        return Err(DataError::Empty { name: name.into() });
    }
    let ten = len.is_multiple_of(CifarKind::Cifar10.record_bytes());
    let hundred = len.is_multiple_of(CifarKind::Cifar100.record_bytes());
    match (ten, hundred) {
        (true, false) => Ok(CifarKind::Cifar10),
        (false, true) => Ok(CifarKind::Cifar100),
        (true, true) => Err(DataError::AmbiguousRecordSize {
            name: name.into(),
            len,
        }),
        (false, false) => Err(DataError::UnknownRecordSize {
            name: name.into(),
            len,
        }),
    }
}

/// Appends the records of `bytes` to `out` (which must have `coarse` set for CIFAR-100 if it
/// already holds images). On error `out` may hold part of the records.
pub(crate) fn parse_into(
    kind: CifarKind,
    name: &str,
    bytes: &[u8],
    num_classes: usize,
    out: &mut Split,
) -> Result<(), DataError> {
    let n = record_count(kind, name, bytes.len())?;
    let first = out.len();
    out.images.reserve_exact(n * IMAGE_BYTES);
    out.labels.reserve_exact(n);
    let lb = kind.label_bytes();
    let bad = |record: usize, which: &'static str, label: u8, num_classes: usize| {
        DataError::LabelOutOfRange {
            name: name.into(),
            record,
            which,
            label: label as u32,
            num_classes,
        }
    };
    match kind {
        CifarKind::Cifar10 => {
            for (r, rec) in bytes.chunks_exact(kind.record_bytes()).enumerate() {
                if rec[0] as usize >= num_classes {
                    return Err(bad(r, "label", rec[0], num_classes));
                }
                out.labels.push(rec[0] as u32);
                out.images.extend_from_slice(&rec[lb..]);
            }
        }
        CifarKind::Cifar100 => {
            let coarse = out.coarse.get_or_insert_with(Vec::new);
            // A split that held CIFAR-10 images has no coarse labels for them: pad with 0.
            coarse.resize(first, 0);
            coarse.reserve_exact(n);
            for (r, rec) in bytes.chunks_exact(kind.record_bytes()).enumerate() {
                if rec[0] as usize >= NUM_COARSE_CLASSES {
                    return Err(bad(r, "coarse label", rec[0], NUM_COARSE_CLASSES));
                }
                if rec[1] as usize >= num_classes {
                    return Err(bad(r, "fine label", rec[1], num_classes));
                }
                coarse.push(rec[0] as u32);
                out.labels.push(rec[1] as u32);
                out.images.extend_from_slice(&rec[lb..]);
            }
        }
    }
    Ok(())
}

/// Writes `split` in the binary format of `kind` (the inverse of [`parse_records`]).
///
/// Labels are written as one byte each (they must be < 256). A CIFAR-100 split without coarse
/// labels gets coarse label 0; a CIFAR-10 write drops the coarse labels.
pub fn write_records(kind: CifarKind, split: &Split) -> Vec<u8> {
    let mut out = Vec::with_capacity(split.len() * kind.record_bytes());
    for i in 0..split.len() {
        if kind == CifarKind::Cifar100 {
            let c = split.coarse.as_ref().map_or(0, |c| c[i]);
            out.push(c as u8);
        }
        out.push(split.labels[i] as u8);
        out.extend_from_slice(split.image(i));
    }
    out
}

/// Class names from a meta file: one per line, blank lines ignored, surrounding white space
/// trimmed. There must be exactly `expected` names.
pub(crate) fn parse_class_names(
    name: &str,
    bytes: &[u8],
    expected: usize,
) -> Result<Vec<String>, DataError> {
    let text = String::from_utf8_lossy(bytes);
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != expected {
        return Err(DataError::BadClassNames {
            name: name.into(),
            expected,
            found: names.len(),
        });
    }
    Ok(names)
}

/// Writes class names one per line (the meta-file format).
pub(crate) fn class_names_text(names: &[String]) -> Vec<u8> {
    let mut s = String::new();
    for n in names {
        s.push_str(n);
        s.push('\n');
    }
    s.into_bytes()
}

const CIFAR10_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Names used when a loose `.bin` file has no meta file beside it: the standard CIFAR-10 names,
/// or "class 0" … "class 99" for CIFAR-100.
pub fn default_class_names(kind: CifarKind) -> Vec<String> {
    match kind {
        CifarKind::Cifar10 => CIFAR10_NAMES.iter().map(|s| s.to_string()).collect(),
        CifarKind::Cifar100 => (0..100).map(|i| format!("class {i}")).collect(),
    }
}

/// Superclass names used when a loose CIFAR-100 `.bin` file has no meta file beside it:
/// "superclass 0" … "superclass 19".
pub fn default_coarse_class_names() -> Vec<String> {
    (0..NUM_COARSE_CLASSES)
        .map(|i| format!("superclass {i}"))
        .collect()
}
