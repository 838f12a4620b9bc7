//! `cskd train` with the new method flags: --mix, --mix-alpha, --teacher/--kd-lambda/
//! --kd-temperature and --method pskd train from the CLI; bad combinations exit non-zero with
//! one message naming the flag or field, and no panic.

mod common {
    pub mod cli;
}

use common::cli::cskd;
use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch(&format!("methods-{name}"))
}

/// A tiny `cskd train` with `extra` flags into `out`.
fn train(out: &Path, extra: &[&str]) -> Output {
    let data = common::cli::data();
    let out = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--data",
        data,
        "--per-class",
        "4",
        "--test-per-class",
        "2",
        "--epochs",
        "1",
        "--batch",
        "16",
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--width") {
        args.extend(["--width", "4"]);
    }
    cskd(&args)
}

fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "failed: {err}");
    err
}

fn fails_with(o: &Output, words: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "should fail");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "expected {w:?} in: {err}");
    }
}

/// The configuration saved in metrics-bearing checkpoint metadata, as JSON.
fn saved_config(dir: &Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("last.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let config = &meta.metadata().as_ref().unwrap()["config"];
    serde_json::from_str(config).unwrap()
}

#[test]
fn every_method_flag_trains_and_lands_in_the_checkpoint() {
    let teacher = scratch("teacher");
    ok(&train(&teacher, &["--method", "ce", "--width", "6"]));
    let runs: [(&str, Vec<&str>); 4] = [
        (
            "mixup",
            vec!["--method", "cskd", "--mix", "mixup", "--mix-alpha", "0.4"],
        ),
        ("cutmix", vec!["--method", "ce", "--mix", "cutmix"]),
        ("pskd", vec!["--method", "pskd", "--pskd-alpha", "0.5"]),
        (
            "kd",
            vec![
                "--method",
                "cskd",
                "--kd-lambda",
                "0.7",
                "--kd-temperature",
                "3",
            ],
        ),
    ];
    let teacher_path = teacher.join("last.safetensors");
    for (name, mut flags) in runs {
        if name == "kd" {
            flags.extend(["--teacher", teacher_path.to_str().unwrap()]);
        }
        let out = scratch(name);
        ok(&train(&out, &flags));
        let c = saved_config(&out);
        let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        assert_eq!(metrics.lines().count(), 1, "{name}: {metrics}");
        match name {
            "mixup" => assert_eq!(
                (c["mix"].as_str(), c["mixAlpha"].as_f64()),
                (Some("mixup"), Some(0.4))
            ),
            "cutmix" => assert_eq!(c["mix"], "cutmix"),
            "pskd" => assert_eq!(
                (c["method"].as_str(), c["pskdAlpha"].as_f64()),
                (Some("pskd"), Some(0.5))
            ),
            _ => assert_eq!(
                (c["kdLambda"].as_f64(), c["kdTemperature"].as_f64()),
                (Some(0.7), Some(3.0))
            ),
        }
    }
}

#[test]
fn bad_method_combinations_are_clear_errors() {
    let out = scratch("bad");
    fails_with(&train(&out, &["--kd-lambda", "1"]), &["--teacher"]);
    fails_with(
        &train(&out, &["--teacher", "x.safetensors"]),
        &["--kd-lambda"],
    );
    fails_with(
        &train(&out, &["--method", "pskd", "--mix", "mixup"]),
        &["mix"],
    );
    fails_with(&train(&out, &["--mix-alpha", "0"]), &["mixAlpha"]);
    fails_with(&train(&out, &["--pskd-alpha", "2"]), &["pskdAlpha"]);
    let bogus = out.join("bogus.safetensors");
    std::fs::write(&bogus, b"not a checkpoint").unwrap();
    fails_with(
        &train(
            &out,
            &["--kd-lambda", "1", "--teacher", bogus.to_str().unwrap()],
        ),
        &["bogus.safetensors"],
    );
}
