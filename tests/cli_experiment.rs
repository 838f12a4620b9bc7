//! `cskd experiment` end to end on a tiny subset: 2 methods × 2 seeds, one run directory each,
//! the Markdown and JSON tables, a second call that skips finished runs, `cskd eval` reproducing
//! a run's temperature scaling, and bad method lists as one clear error.

mod common {
    pub mod cli;
}

use common::cli::{cskd, s};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Asserts success; returns stdout (where the table goes).
fn ok(o: &Output) -> String {
    common::cli::ok(o);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn scratch() -> PathBuf {
    common::cli::scratch("cli-experiment")
}

fn last_record(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn grid_of_runs_then_tables_resumable_and_reproducible_in_eval() {
    let dir = scratch();
    let tiny = dir.join("tiny.tar.gz");
    let real = common::cli::data();
    ok(&cskd(&[
        "subset",
        "--data",
        real,
        "--per-class",
        "10",
        "--test-per-class",
        "4",
        "--out",
        s(&tiny),
    ]));
    let out = dir.join("exp");
    let args = [
        "experiment",
        "--data",
        s(&tiny),
        "--per-class",
        "8",
        "--width",
        "4",
        "--epochs",
        "1",
        "--batch",
        "16",
        "--lr",
        "0.05",
        "--methods",
        "ce,cskd",
        "--seeds",
        "1,2",
        "--out",
        s(&out),
        "--quiet",
    ];
    let table = ok(&cskd(&args));

    for m in ["ce", "cskd"] {
        for seed in [1, 2] {
            let run = out.join(m).join(format!("seed{seed}"));
            let rec = last_record(&run);
            assert_eq!(rec["epoch"], 1, "{}", run.display());
            let ts = &rec["test"]["temperatureScaled"];
            assert!(ts["temperature"].as_f64().unwrap() > 0.0, "{rec}");
        }
    }
    assert!(
        table.starts_with("| method | seeds | best top-1 err % |"),
        "{table}"
    );
    assert!(
        table.contains("| ce | 2 |") && table.contains("| cskd | 2 |"),
        "{table}"
    );
    assert!(table.contains("ECE % (T-scaled)"), "{table}");
    assert_eq!(
        std::fs::read_to_string(out.join("results.md")).unwrap(),
        table
    );

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 4);
    let ce = &json["summary"][0];
    assert_eq!(ce["method"], "ce");
    assert_eq!(ce["seeds"], serde_json::json!([1, 2]));
    let best: Vec<f64> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "ce")
        .map(|r| r["bestTop1Error"].as_f64().unwrap())
        .collect();
    let mean = ce["metrics"]["bestTop1Error"]["mean"].as_f64().unwrap();
    assert!((mean - (best[0] + best[1]) / 2.0).abs() < 1e-12);

    // A second call trains nothing: the checkpoints stay byte for byte, the table is the same.
    let ckpt = out.join("cskd/seed2/last.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    assert_eq!(ok(&cskd(&args)), table);
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);

    // eval rebuilds the calibration split from the checkpoint's configuration: same T.
    let e = ok(&cskd(&[
        "eval",
        "--checkpoint",
        s(&ckpt),
        "--data",
        s(&tiny),
        "--json",
    ]));
    let e: Value = serde_json::from_str(&e).unwrap();
    let trained = last_record(&out.join("cskd/seed2"))["test"]["temperatureScaled"].clone();
    for key in ["temperature", "nll", "ece"] {
        let (a, b) = (
            e["temperatureScaled"][key].as_f64().unwrap(),
            trained[key].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{key}: eval {a} vs training {b}"
        );
    }
    let table = ok(&cskd(&[
        "eval",
        "--checkpoint",
        s(&ckpt),
        "--data",
        s(&tiny),
    ]));
    assert!(table.contains("temperature scaling (T = "), "{table}");

    // Asking for other flags in the same directory is refused, not mixed into the table.
    let o = cskd(&[
        "experiment",
        "--data",
        s(&tiny),
        "--per-class",
        "8",
        "--width",
        "4",
        "--epochs",
        "2",
        "--batch",
        "16",
        "--lr",
        "0.05",
        "--methods",
        "ce",
        "--seeds",
        "1",
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("started with other flags"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_method_lists_are_one_clear_error() {
    for (methods, word) in [
        ("ce,resnet", "is not a method"),
        ("cskd+mixup+cutmix", "unknown or repeated part"),
        ("kd", "needs --teacher"),
    ] {
        let o = cskd(&[
            "experiment",
            "--methods",
            methods,
            "--out",
            "/nonexistent/never",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{methods}");
        assert!(
            err.contains(word) && !err.contains("panicked"),
            "{methods}: {err}"
        );
    }
}

/// Tiny grid flags over `data` into `out` (methods and seeds added by the caller).
fn grid<'a>(data: &'a str, out: &'a Path, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "experiment",
        "--data",
        data,
        "--per-class",
        "4",
        "--width",
        "4",
        "--epochs",
        "1",
        "--batch",
        "16",
        "--calibration-fraction",
        "0",
        "--quiet",
        "--out",
        s(out),
    ];
    v.extend_from_slice(rest);
    v
}

#[test]
fn partial_reruns_add_to_the_table_and_an_equal_configuration_is_recognised() {
    let dir = common::cli::scratch("cli-experiment-merge");
    let tiny = dir.join("tiny.tar.gz");
    common::cli::subset(&tiny, 6, 2);
    let out = dir.join("exp");
    // CS-KD's temperature serves the grid's cskd runs: no warning for it.
    let o = cskd(&grid(
        s(&tiny),
        &out,
        &["--methods", "ce,cskd", "--seeds", "1", "--temperature", "4"],
    ));
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("warning"), "{err}");
    // A second seed of one method: the table keeps the other method's run.
    let table = ok(&cskd(&grid(
        s(&tiny),
        &out,
        &["--methods", "ce", "--seeds", "2"],
    )));
    assert!(
        table.contains("| ce | 2 |") && table.contains("| cskd | 1 |"),
        "{table}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 3, "{json}");
    // The same configuration spelled otherwise (a relative data path through `..`, a default
    // written out, a repeated seed and method) trains nothing and counts each run once.
    let ckpt = out.join("ce/seed1/last.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    let spelled = format!(
        "{}/../{}/tiny.tar.gz",
        dir.display(),
        dir.file_name().unwrap().to_str().unwrap()
    );
    let o = cskd(&grid(
        &spelled,
        &out,
        &[
            "--methods",
            "ce,ce",
            "--seeds",
            "1,1,2",
            "--momentum",
            "0.9",
            "--schedule",
            "step",
            "--temperature",
            "4",
        ],
    ));
    let table = ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    // No run of this grid (ce only) uses the temperature: said once.
    assert!(
        err.contains("warning: --temperature has no effect without --method cskd"),
        "{err}"
    );
    assert!(
        err.contains("--seeds lists 1 twice") && err.contains("--methods lists ce twice"),
        "{err}"
    );
    assert!(
        table.contains("| ce | 2 |") && table.contains("| cskd | 1 |"),
        "{table}"
    );
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "a finished run was trained again"
    );
    assert!(!out.join("ce/seed1/args.json").exists());
}

#[test]
fn the_whole_grid_is_checked_before_the_first_run() {
    let dir = common::cli::scratch("cli-experiment-check");
    let out = dir.join("exp");
    // cskd's temperature is checked for the second method before the first one trains.
    let o = cskd(&grid(
        common::cli::data(),
        &out,
        &["--methods", "ce,cskd", "--seeds", "1", "--temperature", "0"],
    ));
    let err = common::cli::fails_with(&o, "temperature = 0 is invalid");
    assert_eq!(err.matches("invalid configuration").count(), 1, "{err}");
    assert!(
        !out.join("ce").exists(),
        "a run started before the grid was checked"
    );
    // A missing teacher file is found before anything trains too.
    let o = cskd(&grid(
        common::cli::data(),
        &out,
        &[
            "--methods",
            "ce,kd",
            "--seeds",
            "1",
            "--teacher",
            "/nonexistent/t.safetensors",
        ],
    ));
    common::cli::fails_with(&o, "/nonexistent/t.safetensors");
    assert!(!out.join("ce").exists());
}

#[test]
fn a_preset_is_its_configuration_and_its_methods() {
    let dir = common::cli::scratch("cli-experiment-preset");
    let tiny = dir.join("tiny.tar.gz");
    common::cli::subset(&tiny, 6, 2);
    let out = dir.join("exp");
    // `quick` (width 4, batch 10, lr 0.05, weight decay 5e-4, ce and cskd), shortened by flags.
    let shared = ["--per-class", "4", "--test-per-class", "2", "--epochs", "1"];
    let mut args = vec![
        "experiment",
        "--data",
        s(&tiny),
        "--seeds",
        "1",
        "--quiet",
        "--out",
        s(&out),
    ];
    let with_preset = [&args[..], &["--preset", "quick"], &shared[..]].concat();
    let table = ok(&cskd(&with_preset));
    assert!(
        table.contains("| ce | 1 |") && table.contains("| cskd | 1 |"),
        "{table}"
    );
    // The same configuration spelt out in flags is recognised as these runs: nothing trains again.
    let ckpt = out.join("cskd/seed1/last.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    args.extend_from_slice(&shared);
    args.extend_from_slice(&[
        "--width",
        "4",
        "--batch",
        "10",
        "--lr",
        "0.05",
        "--weight-decay",
        "5e-4",
    ]);
    ok(&cskd(&args));
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "the preset's run trained again"
    );
    // A flag beside the preset changes it: another configuration, refused in this OUT.
    let other = [&with_preset[..], &["--lr", "0.07"]].concat();
    let o = cskd(&other);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("lr: 0.05 → 0.07"), "{err}");
    // An unknown preset names the known ones; `cskd presets` lists them.
    let o = cskd(&["experiment", "--preset", "papr", "--out", s(&dir.join("x"))]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("quick, software, paper"),
        "{err}"
    );
    let listed = ok(&cskd(&["presets"]));
    for key in ["quick", "software", "paper", "mixup", "pskd"] {
        assert!(listed.contains(&format!("{key} — ")), "{listed}");
    }
}
