//! Running the `cskd` binary in tests: one private XDG runtime dir (Mesa warns without it), no
//! inherited `CSKD_DATA`, the real CIFAR-10 archive (found by `cskd::data::locate`), fresh scratch folders, and the two ways a
//! run should end (success, or one message without a panic). Used as
//! `mod common { pub mod cli; }` by the CLI test files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cskd args` ready to run (add `.env(…)` or spawn it).
pub fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cskd"));
    c.args(args)
        .env("XDG_RUNTIME_DIR", xdg())
        .env_remove("CSKD_DATA");
    c
}

/// Runs `cskd args` to the end.
pub fn cskd(args: &[&str]) -> Output {
    cmd(args).output().expect("run cskd")
}

/// Runs `cskd args` with extra environment variables.
pub fn cskd_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run cskd")
}

pub fn xdg() -> PathBuf {
    let d = std::env::temp_dir().join("cskd-test-xdg");
    std::fs::create_dir_all(&d).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    d
}

/// The real CIFAR-10 archive where `cskd::data::locate` finds it.
pub fn data() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        cskd::data::locate::find_beside_repo(repo, cskd::data::CifarKind::Cifar10)
            .unwrap_or_else(|e| panic!("the CLI tests need CIFAR-10: {e}"))
            .display()
            .to_string()
    })
}

/// An empty folder of this test process: `cskd-<tag>-<pid>`.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cskd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts success; returns stderr (where the CLI talks).
pub fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.success(),
        "cskd failed\nstdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&o.stdout)
    );
    err
}

/// Asserts a failure whose message mentions `needle`, without a panic; returns stderr.
pub fn fails_with(o: &Output, needle: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success(),
        "expected a failure mentioning {needle:?}"
    );
    assert!(
        err.contains(needle),
        "message should mention {needle:?}: {err}"
    );
    assert!(!err.contains("panicked"), "panicked: {err}");
    err
}

/// Writes `per_class` training and `test_per_class` test images per class of the real CIFAR-10
/// to `out` (`cskd subset`); returns `out` as text.
pub fn subset(out: &Path, per_class: usize, test_per_class: usize) -> String {
    let (p, t) = (per_class.to_string(), test_per_class.to_string());
    ok(&cskd(&[
        "subset",
        "--data",
        data(),
        "--per-class",
        &p,
        "--test-per-class",
        &t,
        "--out",
        s(out),
    ]));
    s(out).to_string()
}
