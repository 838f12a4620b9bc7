//! Atomic file replacement: the new content goes to a temporary file in the same directory, is
//! flushed to disk (fsync), and only then renamed over the old file (and the directory synced).
//! A crash, a kill or a full disk at any point leaves the previous file intact.
//!
//! Fault injection for tests (environment, read at each write): `CSKD_FAULT_WRITE_FAIL_AFTER=N`
//! makes a write fail like a full disk after N bytes; `CSKD_FAULT_WRITE_ABORT_AFTER=N` aborts the
//! process there, as `kill -9` would. `CSKD_FAULT_FILE=NAME` limits the fault to files of that
//! name, and `CSKD_FAULT_SKIP=K` lets the first K of those writes succeed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Replaces `path` with what `fill` writes, atomically. On any error the temporary file is
/// removed and `path` is untouched.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut w = FaultyWriter::from_env(io::BufWriter::new(file), path);
        fill(&mut w)?;
        let file = w.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `.NAME.tmp-PID` beside `path`: same directory (rename stays on one filesystem), hidden, and
/// never the name of a real output.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Whether `name` is one of our temporary files (left behind by a killed writer).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Makes the rename itself durable (POSIX); a no-op where directories cannot be opened.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Passes writes through, failing or aborting after a number of bytes when a test asks for it.
struct FaultyWriter<W: Write> {
    inner: W,
    written: u64,
    fail_after: Option<u64>,
    abort_after: Option<u64>,
}

impl<W: Write> FaultyWriter<W> {
    fn from_env(inner: W, path: &Path) -> Self {
        let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        let (fail_after, abort_after) = (
            var("CSKD_FAULT_WRITE_FAIL_AFTER"),
            var("CSKD_FAULT_WRITE_ABORT_AFTER"),
        );
        let targeted = (fail_after.is_some() || abort_after.is_some())
            && std::env::var("CSKD_FAULT_FILE").map_or(true, |f| {
                path.file_name().is_some_and(|n| n.to_string_lossy() == f)
            })
            && {
                // Writes of the targeted file so far in this process.
                static SEEN: AtomicUsize = AtomicUsize::new(0);
                SEEN.fetch_add(1, Ordering::SeqCst) as u64 >= var("CSKD_FAULT_SKIP").unwrap_or(0)
            };
        FaultyWriter {
            inner,
            written: 0,
            fail_after: fail_after.filter(|_| targeted),
            abort_after: abort_after.filter(|_| targeted),
        }
    }
}

impl<W: Write> Write for FaultyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut n = buf.len() as u64;
        for limit in [self.fail_after, self.abort_after].into_iter().flatten() {
            n = n.min(limit.saturating_sub(self.written));
        }
        if n == 0 && !buf.is_empty() {
            if self.abort_after.is_some_and(|a| self.written >= a) {
                let _ = self.inner.flush();
                std::process::abort();
            }
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (injected fault)",
            ));
        }
        let n = self.inner.write(&buf[..n as usize])?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cskd-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let d = scratch("ok");
        let p = d.join("a.bin");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new content").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new content");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_writer_failing_mid_file_keeps_the_old_file() {
        let d = scratch("fail");
        let p = d.join("last.safetensors");
        write_atomic(&p, b"the good checkpoint").unwrap();
        let e = write_atomic_with(&p, |w| {
            w.write_all(b"half of a new")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        })
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs::read(&p).unwrap(), b"the good checkpoint");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "temporary removed");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn injected_full_disk_fails_after_the_given_bytes() {
        let mut w = FaultyWriter {
            inner: Vec::new(),
            written: 0,
            fail_after: Some(5),
            abort_after: None,
        };
        let e = w.write_all(b"0123456789").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert_eq!(w.inner, b"01234");
    }

    #[test]
    fn temp_names_are_recognised() {
        let t = temp_path(Path::new("/x/last.safetensors"));
        assert!(is_temp_name(&t.file_name().unwrap().to_string_lossy()));
        assert!(!is_temp_name("last.safetensors"));
    }
}
