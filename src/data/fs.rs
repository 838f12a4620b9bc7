//! Loading from the filesystem (native only).

use std::path::{Path, PathBuf};

use super::archive::from_archive_bytes;
use super::cifar::parse_class_names;
use super::layout::{assemble, Layout, Source, LAYOUTS};
use super::loose::from_bin_bytes;
use super::{limits, Cifar, CifarKind, DataError, NUM_COARSE_CLASSES};
use crate::files::read_regular;

/// Loads CIFAR-10 or CIFAR-100 from `path`, which may be
/// - the official `.tar.gz` archive (recognised by the gzip magic bytes, whatever its name),
/// - an extracted directory (`cifar-10-batches-bin/`, `cifar-100-binary/`, or the directory
///   holding one of them),
/// - one loose `.bin` file, split as [`from_bin_bytes`] does; its class names come from a
///   `batches.meta.txt` (CIFAR-10) or `fine_label_names.txt` / `coarse_label_names.txt`
///   (CIFAR-100) beside it when there is one, else the defaults.
///
/// Only regular files and directories are read, each file up to its limit from
/// [`super::limits`]: FIFOs, devices and sockets are refused at once (they would block or never
/// end), and so is a file too large to be CIFAR.
pub fn load(path: &Path) -> Result<Cifar, DataError> {
    load_as(path, None)
}

/// [`load`], with the kind given by the user: it decides a loose `.bin` whose size fits both
/// kinds, and is checked against what an archive or directory holds.
pub fn load_as(path: &Path, kind: Option<CifarKind>) -> Result<Cifar, DataError> {
    let cifar = load_any(path, kind)?;
    match kind {
        Some(expected) if expected != cifar.kind => Err(DataError::KindMismatch {
            name: path.display().to_string(),
            expected,
            found: cifar.kind,
        }),
        _ => Ok(cifar),
    }
}

fn load_any(path: &Path, kind: Option<CifarKind>) -> Result<Cifar, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_dir() {
        return load_dir(path);
    }
    let bytes = read(path, limits::MAX_DATA_FILE, "a CIFAR archive or .bin file")?;
    let name = path.display().to_string();
    let gz_name = [".gz", ".tgz", ".tar"]
        .iter()
        .any(|ext| name.to_ascii_lowercase().ends_with(ext));
    // A CIFAR record never starts with 1f 8b (labels are < 20), so the magic decides.
    if bytes.starts_with(&[0x1f, 0x8b]) || gz_name {
        return from_archive_bytes(&name, &bytes);
    }
    let mut cifar = from_bin_bytes(&name, &bytes, kind)?;
    drop(bytes);
    let dir = path.parent().unwrap_or(Path::new("."));
    let read_names = |file: &str, expected: usize| -> Result<Option<Vec<String>>, DataError> {
        let p = dir.join(file);
        // Anything there by that name is read (and refused if it is not a regular file).
        if !exists(&p) {
            return Ok(None);
        }
        let bytes = read(&p, limits::MAX_NAMES_FILE, "a class-name file")?;
        parse_class_names(&p.display().to_string(), &bytes, expected).map(Some)
    };
    match cifar.kind {
        CifarKind::Cifar10 => {
            if let Some(n) = read_names("batches.meta.txt", 10)? {
                cifar.classes = n;
            }
        }
        CifarKind::Cifar100 => {
            if let Some(n) = read_names("fine_label_names.txt", 100)? {
                cifar.classes = n;
            }
            if let Some(n) = read_names("coarse_label_names.txt", NUM_COARSE_CLASSES)? {
                cifar.coarse_classes = Some(n);
            }
        }
    }
    Ok(cifar)
}

/// An extracted layout directory, or a directory holding exactly one of them.
fn load_dir(path: &Path) -> Result<Cifar, DataError> {
    // Any entry by a layout's file name counts, so that a FIFO or device in place of a file is
    // refused by name (by `read`) rather than reported missing.
    let holds = |dir: &Path, l: &Layout| l.files().any(|f| exists(&dir.join(f)));
    if let Some(l) = LAYOUTS.iter().find(|l| holds(path, l)) {
        return assemble(
            l,
            &mut DirSource {
                dir: path.into(),
                layout: l,
            },
        );
    }
    let inside: Vec<&Layout> = LAYOUTS
        .iter()
        .copied()
        .filter(|l| path.join(l.dir).is_dir())
        .collect();
    match inside[..] {
        [l] => assemble(
            l,
            &mut DirSource {
                dir: path.join(l.dir),
                layout: l,
            },
        ),
        [] => Err(DataError::UnknownLayout {
            name: path.display().to_string(),
            found: "no cifar-10-batches-bin/, cifar-100-binary/, test_batch.bin or test.bin in it"
                .into(),
        }),
        _ => Err(DataError::BothLayouts {
            name: path.display().to_string(),
            a: path.join(LAYOUTS[0].dir).display().to_string(),
            b: path.join(LAYOUTS[1].dir).display().to_string(),
        }),
    }
}

struct DirSource {
    dir: PathBuf,
    layout: &'static Layout,
}

impl Source for DirSource {
    fn has(&self, file: &str) -> bool {
        exists(&self.dir.join(file))
    }
    fn take(&mut self, file: &str) -> Result<Vec<u8>, DataError> {
        let what = if self.layout.is_names(file) {
            "a class-name file"
        } else {
            "a CIFAR .bin file"
        };
        read(&self.dir.join(file), self.layout.limit(file), what)
    }
    fn display(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
    fn missing(&self, file: &str) -> DataError {
        DataError::MissingMember {
            container: self.dir.display().to_string(),
            member: file.into(),
        }
    }
}

/// A regular file of at most `limit` bytes; the error names the file.
fn read(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, DataError> {
    read_regular(path, limit, what).map_err(|e| io(path, e))
}

/// Whether anything (of any type, a dangling link included) is at `path`.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn io(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: path.display().to_string(),
        source,
    }
}
