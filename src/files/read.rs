//! Bounded reads: only regular files are read, never more than a limit derived from the
//! largest legal input. FIFOs, devices and sockets are refused before they are opened (opening a
//! FIFO with no writer blocks forever; /dev/zero never ends).

use std::fs::{File, FileType};
use std::io::{self, Read};
use std::path::Path;

/// Reads the whole of `path`, which must be a regular file of at most `limit` bytes.
/// `what` names the expected content in the error ("a CIFAR archive", "a checkpoint").
pub fn read_regular(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    refuse_special(meta.file_type(), what)?;
    check_size(meta.len(), limit, what)?;
    let file = open_nonblocking(path)?;
    // The path may have been swapped since the check: check the opened file itself too.
    let meta = file.metadata()?;
    refuse_special(meta.file_type(), what)?;
    check_size(meta.len(), limit, what)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    check_size(bytes.len() as u64, limit, what)?;
    Ok(bytes)
}

/// Opens for reading without blocking: if the path became a FIFO after the check above, the
/// open returns at once instead of waiting for a writer (and the re-check refuses it).
/// O_NONBLOCK changes nothing for regular files.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK is 0o4000 on the Linux architectures Rust supports, bar mips/sparc/alpha.
        #[cfg(not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64")))]
        options.custom_flags(0o4000);
    }
    options.open(path)
}

fn refuse_special(t: FileType, what: &str) -> io::Result<()> {
    if t.is_file() {
        return Ok(());
    }
    let kind = if t.is_dir() {
        "a directory"
    } else {
        special_kind(t)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {kind}, not a regular file; expected {what}"),
    ))
}

#[cfg(unix)]
fn special_kind(t: FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: FileType) -> &'static str {
    "a special file"
}

fn check_size(len: u64, limit: u64, what: &str) -> io::Result<()> {
    if len <= limit {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "is larger than {} ({} bytes), the most {what} can be",
            human(limit),
            limit
        ),
    ))
}

fn human(bytes: u64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 1.0 {
        format!("{mb:.0} MiB")
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_directories_and_oversized_files() {
        let dir = std::env::temp_dir().join(format!("cskd-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = read_regular(&dir, 10, "a checkpoint").unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        #[cfg(unix)]
        {
            let e = read_regular(Path::new("/dev/zero"), 10, "a checkpoint").unwrap_err();
            assert!(e.to_string().contains("character device"), "{e}");
        }
        #[cfg(unix)]
        {
            // A FIFO with no writer: opening it for reading would block forever.
            let fifo = dir.join("fifo");
            let _ = std::fs::remove_file(&fifo);
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            let e = read_regular(&fifo, 10, "a checkpoint").unwrap_err();
            assert!(e.to_string().contains("FIFO"), "{e}");
        }
        let f = dir.join("big");
        std::fs::write(&f, [0u8; 11]).unwrap();
        let e = read_regular(&f, 10, "a checkpoint").unwrap_err();
        assert!(
            e.to_string().contains("the most a checkpoint can be"),
            "{e}"
        );
        assert_eq!(read_regular(&f, 11, "x").unwrap().len(), 11);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
