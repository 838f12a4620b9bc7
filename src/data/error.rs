//! Everything that can go wrong while reading CIFAR data. Every message names the file (and the
//! archive member, where there is one) and says what is wrong with it.

use super::CifarKind;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{name}: file is empty")]
    Empty { name: String },

    #[error(
        "{name}: {len} bytes is not a whole number of {record_bytes}-byte {kind} records \
         ({records} records and {left_over} bytes left over; the file is truncated or not {kind})"
    )]
    Truncated {
        name: String,
        kind: CifarKind,
        len: usize,
        record_bytes: usize,
        records: usize,
        left_over: usize,
    },

    #[error(
        "{name}: looks like {found} ({found_bytes}-byte records) but read as {expected} \
         ({expected_bytes}-byte records): {len} bytes"
    )]
    WrongVariant {
        name: String,
        expected: CifarKind,
        expected_bytes: usize,
        found: CifarKind,
        found_bytes: usize,
        len: usize,
    },

    #[error(
        "{name}: {len} bytes is a whole number of neither CIFAR-10 (3073-byte) nor CIFAR-100 \
         (3074-byte) records"
    )]
    UnknownRecordSize { name: String, len: usize },

    #[error(
        "{name}: {len} bytes is a whole number of both CIFAR-10 (3073-byte) and CIFAR-100 \
         (3074-byte) records; say which it is"
    )]
    AmbiguousRecordSize { name: String, len: usize },

    #[error(
        "{name}: record {record} has {which} {label}, but there are only {num_classes} classes"
    )]
    LabelOutOfRange {
        name: String,
        record: usize,
        /// "label", "fine label" or "coarse label".
        which: &'static str,
        label: u32,
        num_classes: usize,
    },

    #[error("{name}: not gzip (starts with {magic}, a .tar.gz starts with 1f 8b){hint}")]
    NotGzip {
        name: String,
        magic: String,
        hint: &'static str,
    },

    #[error("{name}: corrupt gzip data: {detail}")]
    CorruptGzip { name: String, detail: String },

    #[error("{name}: gzip data is not a valid tar archive: {detail}")]
    NotTar { name: String, detail: String },

    #[error("{name}: holds neither CIFAR-10 (cifar-10-batches-bin/) nor CIFAR-100 (cifar-100-binary/) files; {found}")]
    UnknownLayout { name: String, found: String },

    #[error("{name}: holds both {a} and {b}; pick one")]
    BothLayouts { name: String, a: String, b: String },

    #[error("{container}: missing member {member}")]
    MissingMember { container: String, member: String },

    #[error("{name}: expected {expected} class names (one per line), found {found}")]
    BadClassNames {
        name: String,
        expected: usize,
        found: usize,
    },

    #[error("{name}: {what} is larger than {limit} bytes, the most a CIFAR data set needs; is this the right file?")]
    TooLarge {
        name: String,
        /// "the file", "member X", "the unpacked archive".
        what: String,
        limit: u64,
    },

    #[error("{name}: holds {found}, but {expected} was asked for")]
    KindMismatch {
        name: String,
        expected: CifarKind,
        found: CifarKind,
    },

    #[error("batch size must be at least 1, got 0")]
    ZeroBatch,
}
