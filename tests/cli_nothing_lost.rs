//! The `cskd` binary under faults and misuse (issue "nothing lost, nothing hangs"): a full disk or
//! a kill inside a checkpoint write keeps the previous good file, a resume never repeats or loses
//! an epoch, one run per output directory, resume checks its data and configuration, degenerate
//! numbers and over-large models are refused with a message, checkpoint errors name the file,
//! and plain PyTorch state_dicts load with `--init` / `eval`.

mod common {
    pub mod cli;
}

use common::cli::{cmd, cskd, cskd_env, data, fails_with, ok, s};
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch(&format!("nl-{name}"))
}

/// Tiny training flags: 4 images per class, width 4, batch 16 (3 steps an epoch).
fn tiny<'a>(out: &'a Path, epochs: &'a str) -> Vec<&'a str> {
    vec![
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
        epochs,
        "--batch",
        "16",
        "--quiet",
        "--out",
        s(out),
    ]
}

fn epochs_in_metrics(out: &Path) -> Vec<u64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn epoch_of_checkpoint(p: &Path) -> u64 {
    let bytes = std::fs::read(p).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let state = &header.metadata().as_ref().unwrap()["state"];
    serde_json::from_str::<serde_json::Value>(state).unwrap()["epoch"]
        .as_u64()
        .unwrap()
}

fn evaluates(ckpt: &Path) {
    let o = cskd(&[
        "eval",
        "--checkpoint",
        s(ckpt),
        "--data",
        data(),
        "--test-per-class",
        "2",
        "--json",
    ]);
    ok(&o);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(m["nll"].as_f64().unwrap().is_finite());
}

fn no_temporaries(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().contains(".tmp-"))
}

#[test]
fn full_disk_during_a_checkpoint_keeps_the_previous_one() {
    let out = scratch("full");
    // Epoch 1's checkpoint is written; epoch 2's write fails after 100 bytes.
    let o = cskd_env(
        &tiny(&out, "2"),
        &[
            ("CSKD_FAULT_FILE", "last.safetensors"),
            ("CSKD_FAULT_SKIP", "1"),
            ("CSKD_FAULT_WRITE_FAIL_AFTER", "100"),
        ],
    );
    fails_with(&o, "no space left");
    assert_eq!(epoch_of_checkpoint(&out.join("last.safetensors")), 1);
    evaluates(&out.join("last.safetensors"));
    assert_eq!(epochs_in_metrics(&out), vec![1]);
    assert!(no_temporaries(&out), "the failed write cleans up");
}

#[test]
fn a_kill_inside_the_checkpoint_write_loses_nothing_and_resume_repeats_nothing() {
    let out = scratch("kill");
    let o = cskd_env(
        &tiny(&out, "3"),
        &[
            ("CSKD_FAULT_FILE", "last.safetensors"),
            ("CSKD_FAULT_SKIP", "1"),
            ("CSKD_FAULT_WRITE_ABORT_AFTER", "100"),
        ],
    );
    assert!(!o.status.success(), "the process was aborted mid-write");
    let last = out.join("last.safetensors");
    assert_eq!(
        epoch_of_checkpoint(&last),
        1,
        "epoch 1's checkpoint survives"
    );
    evaluates(&last);
    let o = cskd(&[
        "train",
        "--resume",
        s(&last),
        "--data",
        data(),
        "--quiet",
        "--out",
        s(&out),
    ]);
    ok(&o);
    assert_eq!(epochs_in_metrics(&out), vec![1, 2, 3]);
    assert!(
        no_temporaries(&out),
        "the killed writer's temporary is removed"
    );
    // Resuming a finished run says so and keeps its metrics.
    let o = cskd(&[
        "train",
        "--resume",
        s(&last),
        "--data",
        data(),
        "--quiet",
        "--out",
        s(&out),
    ]);
    fails_with(&o, "finished");
    assert_eq!(epochs_in_metrics(&out), vec![1, 2, 3]);
}

#[test]
fn killed_between_checkpoint_and_metrics_then_resumed_has_each_epoch_once() {
    let out = scratch("metrics");
    // metrics.jsonl is written at the start and after each epoch: die on the third write
    // (after epoch 2's checkpoint, before its metrics line).
    let o = cskd_env(
        &tiny(&out, "3"),
        &[
            ("CSKD_FAULT_FILE", "metrics.jsonl"),
            ("CSKD_FAULT_SKIP", "2"),
            ("CSKD_FAULT_WRITE_ABORT_AFTER", "10"),
        ],
    );
    assert!(!o.status.success());
    assert_eq!(epochs_in_metrics(&out), vec![1]);
    let last = out.join("last.safetensors");
    assert_eq!(epoch_of_checkpoint(&last), 2);
    ok(&cskd(&[
        "train",
        "--resume",
        s(&last),
        "--data",
        data(),
        "--quiet",
        "--out",
        s(&out),
    ]));
    assert_eq!(epochs_in_metrics(&out), vec![1, 2, 3]);
}

#[test]
fn one_run_per_output_directory_and_stale_locks_are_reported() {
    let out = scratch("lock");
    let mut first = cmd(&tiny(&out, "50")).spawn().unwrap();
    let lock = out.join(".lock");
    let t0 = std::time::Instant::now();
    while !lock.exists() {
        assert!(
            t0.elapsed().as_secs() < 120,
            "the first run never locked {out:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let second = cskd(&tiny(&out, "1"));
    fails_with(&second, "in use by a running training");
    fails_with(&second, &first.id().to_string());
    first.kill().unwrap();
    first.wait().unwrap();
    // The dead run's lock file is still there, its OS lock gone with the process. Its epochs are
    // a run of their own: a new one replaces them only when asked to.
    assert!(lock.exists());
    let mut again = tiny(&out, "1");
    again.push("--overwrite");
    let third = ok(&cskd(&again));
    assert!(third.contains("no longer running"), "{third}");
    assert!(third.contains(&first.id().to_string()), "{third}");
}

#[test]
fn resume_checks_the_data_and_the_configuration() {
    let dir = scratch("resume");
    let other = dir.join("other.tar.gz");
    ok(&cskd(&[
        "subset",
        "--data",
        data(),
        "--per-class",
        "6",
        "--test-per-class",
        "3",
        "--out",
        s(&other),
    ]));
    let out = dir.join("run");
    let mut args = tiny(&out, "2");
    args[2] = s(&other);
    let o = cskd_env(
        &args,
        &[
            ("CSKD_FAULT_FILE", "last.safetensors"),
            ("CSKD_FAULT_SKIP", "1"),
            ("CSKD_FAULT_WRITE_FAIL_AFTER", "1"),
        ],
    );
    assert!(!o.status.success());
    let last = out.join("last.safetensors");
    let o = cskd(&[
        "train",
        "--resume",
        s(&last),
        "--data",
        data(),
        "--quiet",
        "--out",
        s(&out),
    ]);
    fails_with(&o, "trained on other data");
    let o = cskd(&[
        "train",
        "--resume",
        s(&last),
        "--data",
        s(&other),
        "--lr",
        "0.5",
        "--quiet",
        "--out",
        s(&out),
    ]);
    fails_with(&o, "lr: 0.1");
    ok(&cskd(&[
        "train",
        "--resume",
        s(&last),
        "--data",
        s(&other),
        "--quiet",
        "--out",
        s(&out),
    ]));
    assert_eq!(epochs_in_metrics(&out), vec![1, 2]);
}

#[test]
fn degenerate_numbers_and_oversized_models_are_refused_with_a_message() {
    let out = scratch("numbers");
    for (extra, needle) in [
        (vec!["--width", "1024"], "max_storage_buffer_binding_size"),
        (vec!["--batch", "0"], "batch"),
        (vec!["--epochs", "0"], "epochs"),
        (vec!["--lr=-1"], "lr"),
        (vec!["--momentum", "inf"], "momentum"),
        (vec!["--temperature", "0"], "temperature"),
    ] {
        let mut args = tiny(&out, "1");
        match args.iter().position(|a| *a == extra[0]) {
            Some(i) => args[i + 1] = extra[1],
            None => args.extend(extra),
        }
        fails_with(&cskd(&args), needle);
    }
    for (args, needle) in [
        (vec!["bench", "--steps", "0", "--w1-only"], "--steps"),
        (vec!["bench", "--batch", "0", "--w1-only"], "--batch"),
        (vec!["bench", "--reps", "0", "--w2-only"], "--reps"),
    ] {
        fails_with(&cskd(&args), needle);
    }
}

#[test]
fn checkpoint_errors_name_the_file_and_special_files_are_refused() {
    let dir = scratch("ckpt");
    let out = dir.join("run");
    ok(&cskd(&tiny(&out, "1")));
    let bytes = std::fs::read(out.join("last.safetensors")).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot a header").unwrap();
    for p in [&truncated, &garbage] {
        let o = cskd(&["eval", "--checkpoint", s(p), "--data", data()]);
        fails_with(&o, s(p));
        let o = cskd(&[
            "train",
            "--resume",
            s(p),
            "--data",
            data(),
            "--out",
            s(&dir.join("r")),
        ]);
        fails_with(&o, s(p));
    }
    fails_with(
        &cskd(&["eval", "--checkpoint", "/dev/zero", "--data", data()]),
        "not a regular file",
    );
    #[cfg(unix)]
    {
        let fifo = dir.join("fifo");
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        fails_with(
            &cskd(&["eval", "--checkpoint", s(&fifo), "--data", data()]),
            "FIFO",
        );
    }
}

/// A PyTorch-style state_dict: the same tensors with no metadata, no momentum buffers and
/// (optionally) no `num_batches_tracked`.
fn plain_state_dict(cskd_ckpt: &[u8], keep_tracked: bool) -> Vec<u8> {
    let st = SafeTensors::deserialize(cskd_ckpt).unwrap();
    let views: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| {
            !n.starts_with("_momentum.") && (keep_tracked || !n.ends_with("num_batches_tracked"))
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

#[test]
fn plain_state_dicts_load_and_mismatches_are_listed() {
    let dir = scratch("plain");
    let out = dir.join("run");
    ok(&cskd(&tiny(&out, "1")));
    let bytes = std::fs::read(out.join("last.safetensors")).unwrap();
    let plain = dir.join("plain.safetensors");
    std::fs::write(&plain, plain_state_dict(&bytes, true)).unwrap();
    // eval of a plain state_dict needs the model from the flags.
    let o = cskd(&[
        "eval",
        "--checkpoint",
        s(&plain),
        "--data",
        data(),
        "--width",
        "4",
        "--test-per-class",
        "2",
        "--json",
    ]);
    ok(&o);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(out.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        m["top1Error"], line["test"]["top1Error"],
        "same weights, same metrics"
    );
    // --init keeps the BN batch count it was given: 3 steps × 2 forwards, then 3 × 2 more.
    let init_out = dir.join("init");
    let mut args = tiny(&init_out, "1");
    args.extend(["--init", s(&plain)]);
    ok(&cskd(&args));
    let after = std::fs::read(init_out.join("last.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&after).unwrap();
    let names = st.names();
    let name = names
        .iter()
        .find(|n| n.ends_with("num_batches_tracked"))
        .expect("BN counts");
    let t = st.tensor(name).unwrap();
    assert_eq!(
        i64::from_le_bytes(t.data().try_into().unwrap()),
        12,
        "{name}"
    );
    // A state_dict of another width: every mismatch is listed, with the file.
    let o = cskd(&[
        "eval",
        "--checkpoint",
        s(&plain),
        "--data",
        data(),
        "--width",
        "8",
    ]);
    let err = fails_with(&o, "wrong shape");
    assert!(err.contains(s(&plain)), "{err}");
    // Missing and extra tensors are named.
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut views: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("_momentum.") && !n.ends_with("running_var"))
        .collect();
    let extra = views[0].1.clone();
    views.push(("head.extra.weight".into(), extra));
    let broken = dir.join("broken.safetensors");
    std::fs::write(&broken, safetensors::serialize(views, None).unwrap()).unwrap();
    let o = cskd(&[
        "eval",
        "--checkpoint",
        s(&broken),
        "--data",
        data(),
        "--width",
        "4",
    ]);
    let err = fails_with(&o, "missing");
    assert!(
        err.contains("running_var") && err.contains("extra (1): head.extra.weight"),
        "{err}"
    );
}

#[test]
fn export_writes_an_inference_only_checkpoint_that_evaluates_the_same() {
    let dir = scratch("export");
    let out = dir.join("run");
    ok(&cskd(&tiny(&out, "1")));
    let exported = dir.join("model.safetensors");
    ok(&cskd(&[
        "export",
        "--checkpoint",
        s(&out.join("last.safetensors")),
        "--out",
        s(&exported),
    ]));
    let bytes = std::fs::read(&exported).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert!(st.names().iter().all(|n| !n.starts_with("_momentum.")));
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert!(
        meta.contains_key("model") && !meta.contains_key("state") && !meta.contains_key("config")
    );
    evaluates(&exported);
}

#[test]
fn a_diverged_run_saves_last_good_state_that_evaluates_finite() {
    let out = scratch("diverge");
    let mut args = tiny(&out, "3");
    args.extend(["--lr", "1e30"]);
    let err = fails_with(&cskd(&args), "last-good.safetensors");
    assert!(err.contains("diverged"), "{err}");
    evaluates(&out.join("last-good.safetensors"));
}
