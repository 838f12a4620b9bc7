//! The official file layouts (`cifar-10-batches-bin/`, `cifar-100-binary/`) and how a `Cifar`
//! is put together from them, wherever the files come from (archive members or a directory).

use super::cifar::{parse_class_names, parse_into, record_count};
use super::{limits, Cifar, CifarKind, DataError, Split, IMAGE_BYTES, NUM_COARSE_CLASSES};

/// Files of one official layout.
pub(crate) struct Layout {
    pub kind: CifarKind,
    /// Directory the archive unpacks to.
    pub dir: &'static str,
    /// Training files, in the order their records are concatenated.
    pub train: &'static [&'static str],
    pub test: &'static str,
    /// Fine class names, one per line.
    pub names: &'static str,
    /// Coarse class names (CIFAR-100).
    pub coarse_names: Option<&'static str>,
}

pub(crate) const CIFAR10: Layout = Layout {
    kind: CifarKind::Cifar10,
    dir: "cifar-10-batches-bin",
    train: &[
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
    ],
    test: "test_batch.bin",
    names: "batches.meta.txt",
    coarse_names: None,
};

pub(crate) const CIFAR100: Layout = Layout {
    kind: CifarKind::Cifar100,
    dir: "cifar-100-binary",
    train: &["train.bin"],
    test: "test.bin",
    names: "fine_label_names.txt",
    coarse_names: Some("coarse_label_names.txt"),
};

pub(crate) const LAYOUTS: [&Layout; 2] = [&CIFAR10, &CIFAR100];

pub(crate) fn layout(kind: CifarKind) -> &'static Layout {
    match kind {
        CifarKind::Cifar10 => &CIFAR10,
        CifarKind::Cifar100 => &CIFAR100,
    }
}

impl Layout {
    /// Every file of the layout.
    pub fn files(&self) -> impl Iterator<Item = &'static str> {
        self.train
            .iter()
            .copied()
            .chain([self.test, self.names])
            .chain(self.coarse_names)
    }

    /// Whether `file` is one of the class-name files.
    pub fn is_names(&self, file: &str) -> bool {
        file == self.names || Some(file) == self.coarse_names
    }

    /// The most bytes `file` of this layout may have (see [`super::limits`]).
    pub fn limit(&self, file: &str) -> u64 {
        if self.is_names(file) {
            limits::MAX_NAMES_FILE
        } else {
            limits::max_bin_bytes(self.kind)
        }
    }
}

/// Where the files of a layout come from.
pub(crate) trait Source {
    fn has(&self, file: &str) -> bool;
    /// Takes the bytes of `file` (only called for files that `has`).
    fn take(&mut self, file: &str) -> Result<Vec<u8>, DataError>;
    /// How `file` is named in messages.
    fn display(&self, file: &str) -> String;
    /// The error for a missing `file`.
    fn missing(&self, file: &str) -> DataError;
}

/// Reads every file of `layout` from `src` into a `Cifar`. All files must be there; the
/// missing ones are reported before any decoding.
pub(crate) fn assemble(layout: &Layout, src: &mut dyn Source) -> Result<Cifar, DataError> {
    if let Some(file) = layout.files().find(|f| !src.has(f)) {
        return Err(src.missing(file));
    }
    let kind = layout.kind;
    let k = kind.num_classes();
    let classes = parse_class_names(&src.display(layout.names), &src.take(layout.names)?, k)?;
    let coarse_classes = match layout.coarse_names {
        Some(f) => Some(parse_class_names(
            &src.display(f),
            &src.take(f)?,
            NUM_COARSE_CLASSES,
        )?),
        None => None,
    };

    // Take the raw training files first so the split can be allocated once.
    let mut raw = Vec::with_capacity(layout.train.len());
    let mut total = 0;
    for &f in layout.train {
        let bytes = src.take(f)?;
        total += record_count(kind, &src.display(f), bytes.len())?;
        raw.push((f, bytes));
    }
    let mut train = Split {
        images: Vec::with_capacity(total * IMAGE_BYTES),
        labels: Vec::with_capacity(total),
        coarse: (kind == CifarKind::Cifar100).then(|| Vec::with_capacity(total)),
    };
    for (f, bytes) in raw {
        parse_into(kind, &src.display(f), &bytes, k, &mut train)?;
    }
    let mut test = Split::default();
    parse_into(
        kind,
        &src.display(layout.test),
        &src.take(layout.test)?,
        k,
        &mut test,
    )?;

    Ok(Cifar {
        kind,
        train,
        test,
        classes,
        coarse_classes,
    })
}
