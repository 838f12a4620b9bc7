//! The official `.tar.gz` archives, read from memory (no filesystem: works in wasm) and written.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Component;

use flate2::read::MultiGzDecoder;

use super::cifar::{class_names_text, write_records};
use super::layout::{assemble, layout, Layout, Source, LAYOUTS};
use super::{limits, Cifar, CifarKind, DataError, Split};

/// Reads an official CIFAR archive (`cifar-10-binary.tar.gz` or `cifar-100-binary.tar.gz`)
/// held in memory. The kind is told by which directory's files the archive holds
/// (`cifar-10-batches-bin/…` or `cifar-100-binary/…`); every file of that layout must be there,
/// class-name files included. The data must be gzip (checked by its magic bytes `1f 8b`, not by
/// the name). `name` is only used in error messages.
pub fn from_archive_bytes(name: &str, bytes: &[u8]) -> Result<Cifar, DataError> {
    check_gzip(name, bytes)?;
    let gz_error = RefCell::new(None);
    let reader = Tracked {
        inner: MultiGzDecoder::new(bytes),
        error: &gz_error,
        left: limits::MAX_UNPACKED,
    };
    let fail = |e: io::Error| match gz_error.borrow_mut().take() {
        Some(Layer::Gzip(detail)) => DataError::CorruptGzip {
            name: name.into(),
            detail,
        },
        Some(Layer::TooLarge) => DataError::TooLarge {
            name: name.into(),
            what: "the unpacked archive".into(),
            limit: limits::MAX_UNPACKED,
        },
        None => DataError::NotTar {
            name: name.into(),
            detail: e.to_string(),
        },
    };

    let mut archive = tar::Archive::new(reader);
    let mut found: HashMap<(usize, &'static str), Vec<u8>> = HashMap::new();
    let mut members = 0usize;
    let mut some_names = Vec::new();
    for entry in archive.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        members += 1;
        let Ok(path) = entry.path() else { continue };
        if some_names.len() < 5 {
            some_names.push(path.display().to_string());
        }
        let Some((dir, file)) = last_two(&path) else {
            continue;
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Some((li, f)) = LAYOUTS.iter().enumerate().find_map(|(li, l)| {
            let f = l.files().find(|f| *f == file)?;
            (l.dir == dir).then_some((li, f))
        }) else {
            continue;
        };
        // A corrupt or hostile header may claim any size: never reserve or read past the limit.
        let limit = LAYOUTS[li].limit(f);
        let too_large = || DataError::TooLarge {
            name: name.into(),
            what: format!("member {}/{f}", LAYOUTS[li].dir),
            limit,
        };
        if entry.size() > limit {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(fail)?;
        if data.len() as u64 > limit {
            return Err(too_large());
        }
        found.insert((li, f), data);
    }
    // Read to the end of the gzip stream so that its CRC is checked: corruption inside stored
    // (incompressible) blocks would otherwise go unnoticed.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(fail)?;
    if members == 0 {
        return Err(DataError::NotTar {
            name: name.into(),
            detail: "it holds no members".into(),
        });
    }
    let present: Vec<usize> = (0..LAYOUTS.len())
        .filter(|li| found.keys().any(|(l, _)| l == li))
        .collect();
    let li = match present[..] {
        [li] => li,
        [] => {
            return Err(DataError::UnknownLayout {
                name: name.into(),
                found: format!("it holds {members} members, e.g. {}", some_names.join(", ")),
            })
        }
        _ => {
            return Err(DataError::BothLayouts {
                name: name.into(),
                a: format!("{}/", LAYOUTS[0].dir),
                b: format!("{}/", LAYOUTS[1].dir),
            })
        }
    };
    let layout: &Layout = LAYOUTS[li];
    let files = found
        .into_iter()
        .filter(|((l, _), _)| *l == li)
        .map(|((_, f), d)| (f, d))
        .collect();
    assemble(
        layout,
        &mut ArchiveSource {
            name,
            dir: layout.dir,
            files,
        },
    )
}

/// Errors unless `bytes` starts with the gzip magic `1f 8b`.
fn check_gzip(name: &str, bytes: &[u8]) -> Result<(), DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty { name: name.into() });
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(());
    }
    let magic = bytes
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let hint = if bytes.get(257..262) == Some(b"ustar") {
        "; it is an uncompressed tar, gzip it"
    } else {
        ""
    };
    Err(DataError::NotGzip {
        name: name.into(),
        magic,
        hint,
    })
}

/// The last two normal components of a member path: (directory, file name).
fn last_two(path: &std::path::Path) -> Option<(String, String)> {
    let parts = path.components().filter_map(|c| match c {
        Component::Normal(s) => s.to_str(),
        _ => None,
    });
    let mut prev = None;
    let mut last = None;
    for p in parts {
        prev = last.replace(p);
    }
    Some((prev?.to_string(), last?.to_string()))
}

/// Why the decompressed stream failed, when it was not the tar layer's fault.
enum Layer {
    Gzip(String),
    TooLarge,
}

/// A reader that remembers whether the error came from the gzip layer (vs. from tar), and stops
/// a gzip bomb: it fails once more than `left` bytes have come out.
struct Tracked<'a, R> {
    inner: R,
    error: &'a RefCell<Option<Layer>>,
    left: u64,
}

impl<R: Read> Read for Tracked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte past the limit so that reaching it exactly is not an error.
        let want = buf
            .len()
            .min(self.left.saturating_add(1).min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want]).inspect_err(|e| {
            *self.error.borrow_mut() = Some(Layer::Gzip(e.to_string()));
        })?;
        if n as u64 > self.left {
            *self.error.borrow_mut() = Some(Layer::TooLarge);
            return Err(io::Error::other("archive unpacks to too many bytes"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

struct ArchiveSource<'a> {
    name: &'a str,
    dir: &'static str,
    files: HashMap<&'static str, Vec<u8>>,
}

impl Source for ArchiveSource<'_> {
    fn has(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }
    fn take(&mut self, file: &str) -> Result<Vec<u8>, DataError> {
        self.files.remove(file).ok_or_else(|| self.missing(file))
    }
    fn display(&self, file: &str) -> String {
        format!("{}: {}/{}", self.name, self.dir, file)
    }
    fn missing(&self, file: &str) -> DataError {
        DataError::MissingMember {
            container: self.name.into(),
            member: format!("{}/{}", self.dir, file),
        }
    }
}

/// Writes an archive in the official layout: `cifar-10-batches-bin/` with the training split
/// spread over `data_batch_1.bin` … `data_batch_5.bin` (as equal as possible), `test_batch.bin`
/// and `batches.meta.txt`; or `cifar-100-binary/` with `train.bin`, `test.bin`,
/// `fine_label_names.txt` and `coarse_label_names.txt` (the default superclass names when
/// `coarse_classes` is `None`). Labels must be < 256 (see [`write_records`]).
pub fn write_archive(
    kind: CifarKind,
    train: &Split,
    test: &Split,
    classes: &[String],
    coarse_classes: Option<&[String]>,
) -> Vec<u8> {
    let l = layout(kind);
    let mut files: Vec<(&str, Vec<u8>)> = vec![(l.names, class_names_text(classes))];
    if let Some(f) = l.coarse_names {
        let coarse = coarse_classes
            .map(<[String]>::to_vec)
            .unwrap_or_else(super::default_coarse_class_names);
        files.push((f, class_names_text(&coarse)));
    }
    let parts = l.train.len();
    for (p, &f) in l.train.iter().enumerate() {
        let (a, b) = (p * train.len() / parts, (p + 1) * train.len() / parts);
        let part = train.select(&(a..b).collect::<Vec<_>>());
        files.push((f, write_records(kind, &part)));
    }
    files.push((l.test, write_records(kind, test)));

    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(0);
    append(&mut tar, dir, &format!("{}/", l.dir), &[][..]);
    for (f, data) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        append(&mut tar, h, &format!("{}/{}", l.dir, f), &data[..]);
    }
    // Writing into memory cannot fail.
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .expect("writing an archive to memory")
}

fn append<W: io::Write>(tar: &mut tar::Builder<W>, mut h: tar::Header, path: &str, data: &[u8]) {
    tar.append_data(&mut h, path, data)
        .expect("writing an archive to memory");
}
