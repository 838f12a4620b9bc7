//! A single loose `.bin` file (the browser's case: the user picks one file).

use super::cifar::{default_class_names, default_coarse_class_names, infer_kind, parse_records};
use super::{Cifar, CifarKind, DataError};

/// Reads one loose CIFAR binary file (e.g. `data_batch_1.bin`, or all records of a data set
/// concatenated) and splits it into train and test **deterministically: the last ⌊N/6⌋ records
/// are the test split**, the first N − ⌊N/6⌋ the training split (for 60 000 records that is the
/// official 50 000 / 10 000 proportion; the official split itself is only reproduced if the file
/// is the official training records followed by the official test records).
///
/// `kind: None` infers the kind from the size: it must be a whole number of 3073-byte
/// (CIFAR-10) or of 3074-byte (CIFAR-100) records, not both and not neither. Class names are
/// [`default_class_names`] (and, for CIFAR-100, [`default_coarse_class_names`]).
/// `name` is only used in error messages.
pub fn from_bin_bytes(
    name: &str,
    bytes: &[u8],
    kind: Option<CifarKind>,
) -> Result<Cifar, DataError> {
    let kind = match kind {
        Some(k) => k,
        None => infer_kind(name, bytes.len())?,
    };
    let mut train = parse_records(kind, name, bytes, kind.num_classes())?;
    let n = train.len();
    let test = train.split_off(n - n / 6);
    Ok(Cifar {
        kind,
        train,
        test,
        classes: default_class_names(kind),
        coarse_classes: (kind == CifarKind::Cifar100).then(default_coarse_class_names),
    })
}
