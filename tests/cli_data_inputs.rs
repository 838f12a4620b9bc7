//! The `cskd` binary given data that is not a CIFAR file: a device, a FIFO with or without a
//! writer, a huge sparse file. Each must end at once with one message naming the file (these
//! used to hang forever or read until the kernel killed the process). And `--dataset` decides a
//! `.bin` whose size fits both CIFAR-10 and CIFAR-100 records.

mod common {
    pub mod cli;
}

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch(&format!("cli-data-{name}"))
}

/// Runs `cskd args`; a run that blocks is killed and fails the test (a guard, not a timing).
fn cskd(args: &[&str]) -> Output {
    let child = common::cli::cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cskd");
    finish_or_kill(child, args)
}

fn finish_or_kill(mut child: Child, args: &[&str]) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(300) {
            child.kill().unwrap();
            panic!("cskd {args:?} blocked (killed after 300 s)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Asserts a failed run with a one-line-ish message holding every `needle`, and no panic.
fn assert_refused(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "must fail: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
}

fn train_on(data: &Path, out: &Path) -> Output {
    cskd(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn dev_zero_as_data_is_refused() {
    let d = scratch("zero");
    assert_refused(
        &train_on(Path::new("/dev/zero"), &d.join("out")),
        &["/dev/zero", "character device"],
    );
    let o = cskd(&[
        "subset",
        "--data",
        "/dev/zero",
        "--out",
        d.join("s.tar.gz").to_str().unwrap(),
    ]);
    assert_refused(&o, &["/dev/zero", "character device"]);
}

#[test]
fn fifo_as_data_is_refused_with_and_without_a_writer() {
    let d = scratch("fifo");
    let f = d.join("cifar.bin");
    mkfifo(&f);
    assert_refused(&train_on(&f, &d.join("out")), &["cifar.bin", "FIFO"]);
    // Now with a writer waiting to pour /dev/zero into it.
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(format!("cat /dev/zero > '{}'", f.display()))
        .spawn()
        .unwrap();
    let o = train_on(&f, &d.join("out"));
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert_refused(&o, &["cifar.bin", "FIFO"]);
}

#[test]
fn huge_sparse_file_as_data_is_refused_by_size() {
    let d = scratch("sparse");
    let f = d.join("big.tar.gz");
    std::fs::File::create(&f).unwrap().set_len(1 << 40).unwrap();
    assert_refused(
        &train_on(&f, &d.join("out")),
        &["big.tar.gz", "larger than"],
    );
}

#[test]
fn dataset_flag_decides_a_bin_that_fits_both_record_sizes() {
    let d = scratch("both");
    // 3073 × 3074 zero bytes: 3074 CIFAR-10 or 3073 CIFAR-100 records, every label 0.
    let f = d.join("both.bin");
    std::fs::write(&f, vec![0u8; 3073 * 3074]).unwrap();
    let without = train_on(&f, &d.join("a"));
    assert_refused(&without, &["both.bin", "both CIFAR-10"]);
    let out = d.join("b");
    let o = cskd(&[
        "train",
        "--data",
        f.to_str().unwrap(),
        "--dataset",
        "cifar10",
        "--per-class",
        "4",
        "--test-per-class",
        "2",
        "--width",
        "4",
        "--batch",
        "4",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "train --dataset cifar10 failed: {err}");
    assert!(err.contains("CIFAR-10"), "{err}");
    assert!(out.join("last.safetensors").is_file());
}
