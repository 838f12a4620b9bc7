//! Where the data comes from: `--data`, else `data::locate` (`CSKD_DATA`, else the download
//! cache), else the official archive downloaded into the cache — verified before it gets there —
//! else a message saying how to point at a local copy.

use crate::data::{self, locate, Cifar, CifarKind};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
const CIFAR100_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz";
/// A download slower than this many bytes per second for `stall` seconds is given up.
const LOW_SPEED_BYTES: u32 = 1024;
const DEFAULT_STALL_SECS: u64 = 60;
/// The whole download's deadline (170 MB at 100 KB/s takes half of it).
const DEFAULT_DEADLINE_SECS: u64 = 3600;

/// Loads the dataset: an explicit path, else `data::locate`, else a verified download.
pub fn resolve(path: Option<&Path>, kind: Option<CifarKind>) -> Result<Cifar> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => locate_or_download(kind.unwrap_or(CifarKind::Cifar10), None)?,
    };
    // The given kind decides a loose .bin that fits both record sizes, and must match the rest.
    data::load_as(&path, kind).map_err(|e| {
        if path.starts_with(locate::cache_dir()) {
            Error::Download(format!(
                "{e}; {} is cskd's download cache: delete it to download the archive again",
                path.display()
            ))
        } else {
            e.into()
        }
    })
}

/// `data::locate`'s answer (a cached archive checked against a given checksum), else the download.
fn locate_or_download(kind: CifarKind, shared: Option<&Path>) -> Result<PathBuf> {
    match locate::find(kind, shared) {
        Some(p) => {
            check_cached(&p)?;
            Ok(p)
        }
        None => download(kind),
    }
}

/// The mirror and checksum the environment names (`CSKD_DOWNLOAD_URL`, `CSKD_DOWNLOAD_MD5`), else
/// the official archive and its md5. `None` as the checksum: a mirror without one.
fn source(kind: CifarKind) -> Result<(String, Option<String>)> {
    let (official, official_md5) = match kind {
        CifarKind::Cifar10 => (CIFAR10_URL, "c32a1d4ab5d03f1284b67883e8d87530"),
        CifarKind::Cifar100 => (CIFAR100_URL, "03b5dce01913d631647c71ecec9e9cb8"),
    };
    let mirror = std::env::var("CSKD_DOWNLOAD_URL").ok();
    if let Some(url) = &mirror {
        let last = url.rsplit('/').next().unwrap_or_default();
        if !url.contains("://") || last.is_empty() {
            return Err(Error::Download(format!(
                "CSKD_DOWNLOAD_URL {url:?} does not name a file (expected e.g. https://host/path/{})",
                locate::archive_name(kind)
            )));
        }
    }
    let md5 = match std::env::var("CSKD_DOWNLOAD_MD5") {
        Ok(m) => Some(parse_md5(&m)?),
        Err(_) if mirror.is_none() => Some(official_md5.to_string()),
        Err(_) => None,
    };
    Ok((mirror.unwrap_or_else(|| official.to_string()), md5))
}

/// An md5 digest as 32 hex digits, any case; returned in lower case.
pub fn parse_md5(text: &str) -> Result<String> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(Error::Download(format!(
            "CSKD_DOWNLOAD_MD5 {text:?} is not an md5 digest (32 hexadecimal digits)"
        )))
    }
}

/// A cached archive checked against `CSKD_DOWNLOAD_MD5` when the user gives one (the cache only
/// ever receives verified downloads, but a given checksum is checked all the same).
fn check_cached(path: &Path) -> Result<()> {
    if !path.starts_with(locate::cache_dir()) {
        return Ok(());
    }
    if let Ok(m) = std::env::var("CSKD_DOWNLOAD_MD5") {
        let want = parse_md5(&m)?;
        let got = md5_of(path)?;
        if got != want {
            return Err(Error::Download(format!(
                "the cached archive {} has md5 {got}, not the {want} CSKD_DOWNLOAD_MD5 gives: delete it to download again",
                path.display()
            )));
        }
    }
    Ok(())
}

fn md5_of(path: &Path) -> Result<String> {
    let out = std::process::Command::new("md5sum")
        .arg(path)
        .output()
        .map_err(|e| Error::Io {
            path: "md5sum".into(),
            source: e,
        })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_ascii_lowercase())
}

/// Seconds from an environment variable (a positive integer), else `default`.
fn secs(var: &str, default: u64) -> Result<u64> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| Error::Download(format!("{var} {v:?} is not a number of seconds"))),
    }
}

/// Downloads with curl (its own progress bar) into a temporary file beside the cache, checks the
/// md5 when known and that the file reads as the data set, and only then moves it into the cache.
/// A stalled or endless transfer is given up (`CSKD_DOWNLOAD_STALL_TIMEOUT`, `CSKD_DOWNLOAD_TIMEOUT`).
fn download(kind: CifarKind) -> Result<PathBuf> {
    let (url, md5) = source(kind)?;
    let stall = secs("CSKD_DOWNLOAD_STALL_TIMEOUT", DEFAULT_STALL_SECS)?;
    let deadline = secs("CSKD_DOWNLOAD_TIMEOUT", DEFAULT_DEADLINE_SECS)?;
    let dir = locate::cache_dir();
    let file = locate::cached(locate::archive_name(kind));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let use_local = "Pass --data PATH (the .tar.gz archive, its extracted folder or a .bin file) or set CSKD_DATA";
    eprintln!(
        "no CSKD_DATA and no cached copy: downloading {url} → {}",
        file.display()
    );
    let part = dir.join(format!(
        ".{}.{}.part",
        locate::archive_name(kind),
        std::process::id()
    ));
    let _cleanup = RemoveOnDrop(&part);
    let status = std::process::Command::new("curl")
        .args(["-fL", "--connect-timeout", "30", "--progress-bar"])
        .args(["--speed-limit", &LOW_SPEED_BYTES.to_string()])
        .args(["--speed-time", &stall.to_string()])
        .args(["--max-time", &deadline.to_string()])
        .arg("-o")
        .arg(&part)
        .arg(&url)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) if s.code() == Some(28) => {
            return Err(Error::Download(format!(
                "the download of {kind} from {url} was given up: under {LOW_SPEED_BYTES} bytes/s for {stall} s, or not done after {deadline} s (CSKD_DOWNLOAD_STALL_TIMEOUT, CSKD_DOWNLOAD_TIMEOUT). {use_local}"
            )))
        }
        Ok(_) => {
            return Err(Error::Download(format!(
                "no data given and {kind} could not be downloaded from {url}. {use_local}"
            )))
        }
        Err(e) => {
            return Err(Error::Download(format!(
                "no data given and curl could not be started to download {kind} ({e}). {use_local}"
            )))
        }
    }
    match &md5 {
        Some(want) => {
            let got = md5_of(&part)?;
            if &got != want {
                return Err(Error::Download(format!(
                    "the archive downloaded from {url} has md5 {got} but the expected one is {want}; nothing was cached. {use_local}"
                )));
            }
        }
        None => {
            eprintln!("note: CSKD_DOWNLOAD_URL without CSKD_DOWNLOAD_MD5: checksum not checked")
        }
    }
    // Truncated or not the data set: refused here, so the cache never holds a bad archive.
    data::load_as(&part, Some(kind)).map_err(|e| {
        Error::Download(format!(
            "the archive downloaded from {url} is not a whole {kind} archive ({e}); nothing was cached. {use_local}"
        ))
    })?;
    std::fs::rename(&part, &file).map_err(|e| Error::Io {
        path: file.display().to_string(),
        source: e,
    })?;
    Ok(file)
}

/// Removes a temporary file when the download ends, however it ends.
struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

#[derive(clap::Args)]
pub struct DataPathArgs {
    /// A shared folder whose data/ may hold the archive (a development clone's ../shared).
    #[arg(long)]
    shared: Option<PathBuf>,
    #[arg(long, value_parser = ["cifar10", "cifar100"], default_value = "cifar10")]
    dataset: String,
}

/// `cskd data-path`: where the data set is ($CSKD_DATA, else SHARED/data, else the download
/// cache), downloaded into the cache when none has it; the path on stdout.
pub fn data_path(a: DataPathArgs) -> Result<()> {
    let kind = if a.dataset == "cifar100" {
        CifarKind::Cifar100
    } else {
        CifarKind::Cifar10
    };
    let path = locate_or_download(kind, a.shared.as_deref())?;
    println!("{}", path.display());
    Ok(())
}

#[derive(clap::Args)]
pub struct SubsetArgs {
    /// CIFAR archive, extracted folder or .bin file (default: $CSKD_DATA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Training images per class (0 = all, as in `train`).
    #[arg(long, default_value_t = 100)]
    per_class: usize,
    /// Test images per class (0 = all, as in `train`).
    #[arg(long, default_value_t = 20)]
    test_per_class: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output .tar.gz.
    #[arg(long)]
    out: PathBuf,
}

pub fn subset(a: SubsetArgs) -> Result<()> {
    if let Some(d) = &a.data {
        crate::files::refuse_overwriting_input(&a.out, &[("--data", d)]).map_err(Error::Config)?;
    }
    let c = resolve(a.data.as_deref(), None)?;
    let k = c.num_classes();
    // 0 means all of a split, as everywhere else.
    let pick = |s: &data::Split, n: usize, seed: u64| match n {
        0 => s.clone(),
        n => s.balanced_subset(n, k, seed),
    };
    let train = pick(&c.train, a.per_class, a.seed);
    let test = pick(&c.test, a.test_per_class, a.seed ^ 0x7e57);
    let bytes = data::write_archive(
        c.kind,
        &train,
        &test,
        &c.classes,
        c.coarse_classes.as_deref(),
    );
    crate::files::write_atomic(&a.out, &bytes).map_err(|e| Error::Io {
        path: a.out.display().to_string(),
        source: e,
    })?;
    println!(
        "wrote {} ({} train + {} test images, {} KiB)",
        a.out.display(),
        train.len(),
        test.len(),
        bytes.len() / 1024
    );
    Ok(())
}
