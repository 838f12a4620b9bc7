//! The CLI's download of the data set (`cskd data-path`, which `train` and the set-up use too)
//! against a stub HTTP server on 127.0.0.1: a server that stalls or never answers is given up with
//! a clear message, and nothing but a verified archive ever reaches the cache. Each test has its
//! own HOME, so its cache starts empty.

mod common {
    pub mod cli;
}

use common::cli::{cmd, fails_with, ok, s, scratch};
use cskd::data::{default_class_names, write_archive, CifarKind, Split};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// A valid CIFAR-10 archive: 2 training and 1 test image per class, pixels from the label.
fn tiny_archive() -> Vec<u8> {
    let split = |per_class: usize| {
        let labels: Vec<u32> = (0..10u32)
            .flat_map(|c| std::iter::repeat_n(c, per_class))
            .collect();
        let images = labels
            .iter()
            .flat_map(|&l| std::iter::repeat_n(l as u8 * 20, 3072))
            .collect();
        Split {
            images,
            labels,
            coarse: None,
        }
    };
    write_archive(
        CifarKind::Cifar10,
        &split(2),
        &split(1),
        &default_class_names(CifarKind::Cifar10),
        None,
    )
}

/// How the stub server answers every connection.
#[derive(Clone)]
enum Behaviour {
    /// 200 with this body.
    Serve(Vec<u8>),
    /// Headers announcing a large body, then one byte a second.
    Drip,
    /// Accepts and never writes a byte.
    Silent,
}

/// Starts a server on a free port; it lives as long as the test process.
fn server(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let b = behaviour.clone();
            std::thread::spawn(move || answer(stream, b));
        }
    });
    format!("http://127.0.0.1:{port}/cifar-10-binary.tar.gz")
}

fn answer(mut stream: TcpStream, behaviour: Behaviour) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    match behaviour {
        Behaviour::Serve(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Behaviour::Drip => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            while stream.write_all(b"x").is_ok() {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Behaviour::Silent => std::thread::sleep(Duration::from_secs(600)),
    }
}

/// `cskd data-path` with an empty HOME and the given download environment.
fn data_path(home: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = cmd(&["data-path"]);
    c.env("HOME", home)
        .env_remove("CSKD_DOWNLOAD_URL")
        .env_remove("CSKD_DOWNLOAD_MD5");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run cskd")
}

fn md5(bytes: &[u8], dir: &Path) -> String {
    let f = dir.join("md5-input");
    std::fs::write(&f, bytes).unwrap();
    let out = std::process::Command::new("md5sum")
        .arg(&f)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..32].to_string()
}

fn cache_holds_nothing(home: &Path) {
    let dir = home.join(".cache/cskd");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the cache should hold nothing: {left:?}");
}

#[test]
fn a_stalled_or_silent_server_is_given_up_with_a_clear_message() {
    let dir = scratch("download-stall");
    for (name, behaviour, env) in [
        (
            "drip",
            Behaviour::Drip,
            [
                ("CSKD_DOWNLOAD_STALL_TIMEOUT", "2"),
                ("CSKD_DOWNLOAD_TIMEOUT", "120"),
            ],
        ),
        (
            "silent",
            Behaviour::Silent,
            [
                ("CSKD_DOWNLOAD_STALL_TIMEOUT", "120"),
                ("CSKD_DOWNLOAD_TIMEOUT", "3"),
            ],
        ),
    ] {
        let url = server(behaviour);
        let home = dir.join(name);
        let start = Instant::now();
        let o = data_path(&home, &[("CSKD_DOWNLOAD_URL", &url), env[0], env[1]]);
        let err = fails_with(&o, "was given up");
        assert!(
            err.contains("--data"),
            "{name}: the message should point at --data: {err}"
        );
        // A guard against the hang itself, far above the 2–3 s limits.
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{name}: took {:?}",
            start.elapsed()
        );
        cache_holds_nothing(&home);
    }
}

#[test]
fn a_truncated_download_is_never_cached_and_the_whole_one_is() {
    let dir = scratch("download-truncated");
    let archive = tiny_archive();
    let home = dir.join("home");
    // No checksum known: the archive itself is checked before it is cached.
    let url = server(Behaviour::Serve(archive[..archive.len() / 2].to_vec()));
    let err = fails_with(
        &data_path(&home, &[("CSKD_DOWNLOAD_URL", &url)]),
        "nothing was cached",
    );
    assert!(err.contains("not a whole CIFAR-10 archive"), "{err}");
    cache_holds_nothing(&home);
    // A later run with the right checksum downloads the whole archive, and reuses it after.
    let sum = md5(&archive, &dir);
    let url = server(Behaviour::Serve(archive.clone()));
    let env = [
        ("CSKD_DOWNLOAD_URL", url.as_str()),
        ("CSKD_DOWNLOAD_MD5", sum.as_str()),
    ];
    let o = data_path(&home, &env);
    ok(&o);
    let cached = home.join(".cache/cskd/cifar-10-binary.tar.gz");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), s(&cached));
    assert_eq!(std::fs::read(&cached).unwrap(), archive);
    // Upper case is the same digest.
    let upper = sum.to_ascii_uppercase();
    ok(&data_path(
        &home,
        &[("CSKD_DOWNLOAD_URL", &url), ("CSKD_DOWNLOAD_MD5", &upper)],
    ));
    // A cached file that does not match a given checksum is named, not used.
    let wrong = "0".repeat(32);
    let err = fails_with(
        &data_path(&home, &[("CSKD_DOWNLOAD_MD5", &wrong)]),
        "delete it to download again",
    );
    assert!(err.contains(s(&cached)), "{err}");
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_cached() {
    let dir = scratch("download-md5");
    let url = server(Behaviour::Serve(tiny_archive()));
    let home = dir.join("home");
    let wrong = "0123456789abcdef0123456789abcdef";
    let err = fails_with(
        &data_path(
            &home,
            &[("CSKD_DOWNLOAD_URL", &url), ("CSKD_DOWNLOAD_MD5", wrong)],
        ),
        "has md5",
    );
    assert!(err.contains(wrong), "{err}");
    cache_holds_nothing(&home);
}

#[test]
fn a_checksum_is_32_hex_digits_and_a_url_names_a_file() {
    let dir = scratch("download-args");
    let url = server(Behaviour::Serve(tiny_archive()));
    for bad in [
        "",
        "c3",
        "c32a1d4ab5d03f1284b67883e8d8753",
        "g32a1d4ab5d03f1284b67883e8d87530",
    ] {
        let home = dir.join(format!("home-{}", bad.len()));
        let o = data_path(
            &home,
            &[("CSKD_DOWNLOAD_URL", &url), ("CSKD_DOWNLOAD_MD5", bad)],
        );
        fails_with(&o, "is not an md5 digest (32 hexadecimal digits)");
        cache_holds_nothing(&home);
    }
    let home = dir.join("home-slash");
    let slash = url.trim_end_matches("cifar-10-binary.tar.gz").to_string();
    fails_with(
        &data_path(&home, &[("CSKD_DOWNLOAD_URL", &slash)]),
        "does not name a file",
    );
    assert!(!dir.join("home-slash/.cache/cskd.part").exists());
    cache_holds_nothing(&home);
}

#[test]
fn data_path_prefers_cskd_data_then_the_shared_folder_then_the_cache() {
    let dir = scratch("download-order");
    let home = dir.join("home");
    let shared = dir.join("shared");
    std::fs::create_dir_all(shared.join("data")).unwrap();
    std::fs::create_dir_all(home.join(".cache/cskd")).unwrap();
    let in_shared = shared.join("data/cifar-10-binary.tar.gz");
    let in_cache = home.join(".cache/cskd/cifar-10-binary.tar.gz");
    std::fs::write(&in_shared, tiny_archive()).unwrap();
    std::fs::write(&in_cache, tiny_archive()).unwrap();
    let path = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd(&[&["data-path"], args].concat());
        c.env("HOME", &home).env_remove("CSKD_DOWNLOAD_MD5");
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        ok(&o);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(
        path(
            &["--shared", s(&shared)],
            &[("CSKD_DATA", "/some/where.tar.gz")]
        ),
        "/some/where.tar.gz"
    );
    assert_eq!(path(&["--shared", s(&shared)], &[]), s(&in_shared));
    assert_eq!(
        path(&["--shared", s(&dir.join("no-shared"))], &[]),
        s(&in_cache)
    );
    assert_eq!(path(&[], &[]), s(&in_cache));
}
