//! Where the data comes from: `--data`, else `CSKD_DATA`, else the official archive downloaded
//! into the user's cache (checksum checked), else a message saying how to point at a local copy.

use crate::data::{self, Cifar, CifarKind};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
const CIFAR100_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz";

/// Loads the dataset: an explicit path, `CSKD_DATA`, or a cached/downloaded official archive.
pub fn resolve(path: Option<&Path>, kind: Option<CifarKind>) -> Result<Cifar> {
    let path = match path
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CSKD_DATA").map(PathBuf::from))
    {
        Some(p) => p,
        None => download(kind.unwrap_or(CifarKind::Cifar10))?,
    };
    // The given kind decides a loose .bin that fits both record sizes, and must match the rest.
    Ok(data::load_as(&path, kind)?)
}

/// Downloads with curl (shows its own progress) into ~/.cache/cskd and checks the official md5.
fn download(kind: CifarKind) -> Result<PathBuf> {
    let (url, md5) = match kind {
        CifarKind::Cifar10 => (CIFAR10_URL, "c32a1d4ab5d03f1284b67883e8d87530"),
        CifarKind::Cifar100 => (CIFAR100_URL, "03b5dce01913d631647c71ecec9e9cb8"),
    };
    // A mirror (or a test's local server): CSKD_DOWNLOAD_URL, checked against CSKD_DOWNLOAD_MD5
    // when given (a mirror of a rebuilt archive has its own checksum).
    let mirror = std::env::var("CSKD_DOWNLOAD_URL").ok();
    let url: &str = mirror.as_deref().unwrap_or(url);
    let md5_override = std::env::var("CSKD_DOWNLOAD_MD5").ok();
    let md5: Option<&str> = match (&mirror, &md5_override) {
        (_, Some(m)) => Some(m.as_str()),
        (Some(_), None) => None,
        (None, None) => Some(md5),
    };
    let dir = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/cskd");
    let file = dir.join(url.rsplit('/').next().unwrap());
    if file.exists() {
        return Ok(file);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let hint = format!(
        "no data given and {kind} could not be downloaded from {url}. Pass --data PATH (the .tar.gz archive, its extracted folder or a .bin file) or set CSKD_DATA"
    );
    eprintln!("downloading {url} → {}", file.display());
    let part = file.with_extension("part");
    let status = std::process::Command::new("curl")
        .args(["-fL", "--connect-timeout", "30", "--progress-bar", "-o"])
        .arg(&part)
        .arg(url)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        let _ = std::fs::remove_file(&part);
        return Err(Error::Config(hint));
    }
    if let Some(md5) = md5 {
        let out = std::process::Command::new("md5sum")
            .arg(&part)
            .output()
            .map_err(|e| Error::Io {
                path: "md5sum".into(),
                source: e,
            })?;
        let sum = String::from_utf8_lossy(&out.stdout);
        if !sum.starts_with(md5) {
            let _ = std::fs::remove_file(&part);
            return Err(Error::Config(format!(
                "downloaded archive has md5 {} but the expected one is {md5}; {hint}",
                sum.split_whitespace().next().unwrap_or("?")
            )));
        }
    } else {
        eprintln!("note: CSKD_DOWNLOAD_URL without CSKD_DOWNLOAD_MD5: checksum not checked");
    }
    std::fs::rename(&part, &file).map_err(|e| Error::Io {
        path: file.display().to_string(),
        source: e,
    })?;
    Ok(file)
}

#[derive(clap::Args)]
pub struct SubsetArgs {
    /// CIFAR archive, extracted folder or .bin file (default: $CSKD_DATA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Training images per class.
    #[arg(long, default_value_t = 100)]
    per_class: usize,
    /// Test images per class.
    #[arg(long, default_value_t = 20)]
    test_per_class: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output .tar.gz.
    #[arg(long)]
    out: PathBuf,
}

pub fn subset(a: SubsetArgs) -> Result<()> {
    let c = resolve(a.data.as_deref(), None)?;
    let k = c.num_classes();
    let train = c.train.balanced_subset(a.per_class, k, a.seed);
    let test = c.test.balanced_subset(a.test_per_class, k, a.seed ^ 0x7e57);
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
