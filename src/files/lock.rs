//! One run per output directory: `OUT/.lock` holds the pid of the run and an exclusive OS lock
//! (flock / LockFileEx) for as long as the run lives. The OS drops the lock when the process
//! dies, however it dies, so a lock file that can be locked again is stale: it is reported with
//! the dead run's pid and taken over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while a run writes into its directory; released on drop (or by the OS at exit).
pub struct RunLock {
    file: File,
    path: PathBuf,
    /// The pid of a dead run whose lock was taken over, to tell the user.
    pub stale_pid: Option<u32>,
}

impl RunLock {
    /// Locks `dir` for this process, or says which live process holds it.
    pub fn acquire(dir: &Path) -> io::Result<RunLock> {
        let path = dir.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        let previous_pid = previous.trim().parse::<u32>().ok();
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let who = previous_pid
                    .map(|p| format!("process {p}"))
                    .unwrap_or_else(|| "another process".into());
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{} is in use by a running training ({who}); wait for it to finish, stop it, or choose another --out",
                        dir.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(file, "{}", std::process::id())?;
        file.sync_all()?;
        Ok(RunLock {
            file,
            path,
            stale_pid: previous_pid.filter(|&p| p != std::process::id()),
        })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, so no other run sees it half-released.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_a_stale_one_reported() {
        let d = std::env::temp_dir().join(format!("cskd-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let first = RunLock::acquire(&d).unwrap();
        assert_eq!(first.stale_pid, None);
        let e = RunLock::acquire(&d).err().expect("second lock refused");
        assert!(
            e.to_string().contains(&std::process::id().to_string()),
            "{e}"
        );
        drop(first);
        // A lock file left by a dead process (pid written, no OS lock held).
        std::fs::write(d.join(".lock"), "4194999\n").unwrap();
        let l = RunLock::acquire(&d).unwrap();
        assert_eq!(l.stale_pid, Some(4194999));
        drop(l);
        assert!(!d.join(".lock").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
