//! Loading from the filesystem (native only).

use std::path::{Path, PathBuf};

use super::archive::from_archive_bytes;
use super::cifar::parse_class_names;
use super::layout::{assemble, Layout, Source, LAYOUTS};
use super::loose::from_bin_bytes;
use super::{Cifar, CifarKind, DataError, NUM_COARSE_CLASSES};

/// Loads CIFAR-10 or CIFAR-100 from `path`, which may be
/// - the official `.tar.gz` archive (recognised by the gzip magic bytes, whatever its name),
/// - an extracted directory (`cifar-10-batches-bin/`, `cifar-100-binary/`, or the directory
///   holding one of them),
/// - one loose `.bin` file, split as [`from_bin_bytes`] does; its class names come from a
///   `batches.meta.txt` (CIFAR-10) or `fine_label_names.txt` / `coarse_label_names.txt`
///   (CIFAR-100) beside it when there is one, else the defaults.
pub fn load(path: &Path) -> Result<Cifar, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_dir() {
        return load_dir(path);
    }
    let bytes = read(path)?;
    let name = path.display().to_string();
    let gz_name = [".gz", ".tgz", ".tar"]
        .iter()
        .any(|ext| name.to_ascii_lowercase().ends_with(ext));
    // A CIFAR record never starts with 1f 8b (labels are < 20), so the magic decides.
    if bytes.starts_with(&[0x1f, 0x8b]) || gz_name {
        return from_archive_bytes(&name, &bytes);
    }
    let mut cifar = from_bin_bytes(&name, &bytes, None)?;
    drop(bytes);
    let dir = path.parent().unwrap_or(Path::new("."));
    let read_names = |file: &str, expected: usize| -> Result<Option<Vec<String>>, DataError> {
        let p = dir.join(file);
        if !p.is_file() {
            return Ok(None);
        }
        parse_class_names(&p.display().to_string(), &read(&p)?, expected).map(Some)
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
    let holds = |dir: &Path, l: &Layout| l.files().any(|f| dir.join(f).is_file());
    if let Some(l) = LAYOUTS.iter().find(|l| holds(path, l)) {
        return assemble(l, &mut DirSource { dir: path.into() });
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
}

impl Source for DirSource {
    fn has(&self, file: &str) -> bool {
        self.dir.join(file).is_file()
    }
    fn take(&mut self, file: &str) -> Result<Vec<u8>, DataError> {
        read(&self.dir.join(file))
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

fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| io(path, e))
}

fn io(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: path.display().to_string(),
        source,
    }
}
