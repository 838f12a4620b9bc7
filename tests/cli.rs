//! The `cskd` binary end to end: train + eval on a tiny subset, and bad input exits non-zero with
//! one message and no panic trace.

mod common {
    pub mod cli;
}

use common::cli::{cskd, data};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch(&format!("cli-{name}"))
}

#[test]
fn train_then_eval_on_a_tiny_subset() {
    let out = scratch("train");
    let o = cskd(&[
        "train",
        "--data",
        data(),
        "--per-class",
        "4",
        "--test-per-class",
        "2",
        "--width",
        "4",
        "--epochs",
        "2",
        "--batch",
        "16",
        "--method",
        "cskd",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "train failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one metrics line per epoch");
    assert!(lines[1]["test"]["ece"].as_f64().unwrap().is_finite());
    let ckpt = out.join("last.safetensors");
    let o = cskd(&[
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data(),
        "--test-per-class",
        "2",
        "--json",
    ]);
    assert!(
        o.status.success(),
        "eval failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["count"], 20);
    // The checkpoint's test metrics reproduce in `eval` (same weights, same test subset).
    assert_eq!(m["top1Error"], lines[1]["test"]["top1Error"]);
    let o = cskd(&[
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data(),
        "--test-per-class",
        "2",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ECE"),
        "table output"
    );
}

#[test]
fn bad_input_exits_nonzero_with_a_message_and_no_panic() {
    let dir = scratch("bad");
    let truncated = dir.join("truncated.bin");
    std::fs::write(&truncated, vec![1u8; 3073 * 2 + 100]).unwrap();
    let not_ckpt = dir.join("x.safetensors");
    std::fs::write(&not_ckpt, b"hello").unwrap();
    let out = dir.join("out");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "train",
                "--data",
                truncated.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            "truncated.bin",
        ),
        (
            vec![
                "train",
                "--data",
                data(),
                "--lr",
                "NaN",
                "--out",
                out.to_str().unwrap(),
            ],
            "lr",
        ),
        (
            vec![
                "train",
                "--data",
                "/nonexistent/cifar.tar.gz",
                "--out",
                out.to_str().unwrap(),
            ],
            "/nonexistent/cifar.tar.gz",
        ),
        (
            vec![
                "eval",
                "--checkpoint",
                not_ckpt.to_str().unwrap(),
                "--data",
                data(),
            ],
            "checkpoint",
        ),
    ];
    for (args, needle) in cases {
        let o = cskd(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            err.contains("error:") && err.contains(needle),
            "{args:?}: message should mention {needle:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}
