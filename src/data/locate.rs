//! Where the CIFAR archive is when no `--data` is given: one order for the CLI, the set-up
//! scripts (through `cskd data-path`), the Rust tests and the Python tests.
//!
//! 1. `$CSKD_DATA`;
//! 2. `<shared>/data/<archive>`, when the caller names a shared folder (a development clone has
//!    `../shared` beside it; a user's clone has none, and the CLI names none);
//! 3. the download cache, `~/.cache/cskd/<archive>` (what the CLI and the set-up download into).
//!
//! Only (3) is ever written, and only by the CLI's download (`cli::data`), which verifies the
//! archive before it moves it there.

use super::CifarKind;
use std::path::{Path, PathBuf};

/// The official archive's file name.
pub fn archive_name(kind: CifarKind) -> &'static str {
    match kind {
        CifarKind::Cifar10 => "cifar-10-binary.tar.gz",
        CifarKind::Cifar100 => "cifar-100-binary.tar.gz",
    }
}

/// The folder downloads go to: `$HOME/.cache/cskd` (the system's temporary folder without HOME).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/cskd")
}

/// Where the download of `file_name` lives in the cache.
pub fn cached(file_name: &str) -> PathBuf {
    cache_dir().join(file_name)
}

/// The data set's path by the order above, or `None` when none of the places has it (the CLI then
/// downloads).
pub fn find(kind: CifarKind, shared: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CSKD_DATA").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let name = archive_name(kind);
    shared
        .map(|s| s.join("data").join(name))
        .into_iter()
        .chain(std::iter::once(cached(name)))
        .find(|p| p.is_file())
}

/// For a clone's own tests and tools: [`find`] with `$SHARED`, else `<repo>/../shared`, as the
/// shared folder; the error says how to get the data set.
pub fn find_beside_repo(repo: &Path, kind: CifarKind) -> Result<PathBuf, String> {
    let shared = std::env::var_os("SHARED")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared"));
    find(kind, Some(&shared)).ok_or_else(|| {
        format!(
            "no {kind} archive: not in $CSKD_DATA, {} or {}. Run scripts/test.sh (it downloads it), \
             `cskd data-path`, or set CSKD_DATA",
            shared.join("data").join(archive_name(kind)).display(),
            cached(archive_name(kind)).display()
        )
    })
}
