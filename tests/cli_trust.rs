//! The last mile of trust (issue "nothing overwritten by surprise, nothing non-finite accepted"):
//! finished work is never replaced without `--overwrite` or `--resume`, no output path may be one
//! of the command's inputs, every loaded tensor is finite (running variances ≥ 0), and errors say
//! what to do. Tiny runs on a 4-images-per-class subset cut once per test binary.

mod common {
    pub mod cli;
}

use common::cli::{cskd, cskd_env, fails_with, ok, s};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch(&format!("trust-{name}"))
}

/// 6 training and 2 test images per class of the real CIFAR-10, written once.
fn tiny_data() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| common::cli::subset(&scratch("data").join("tiny.tar.gz"), 6, 2))
}

/// Tiny training flags into `out`.
fn train<'a>(out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "train",
        "--data",
        tiny_data(),
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
    v.extend_from_slice(extra);
    v
}

/// One finished tiny run, shared by the tests that only read it.
fn finished_run() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let out = scratch("base").join("run");
        ok(&cskd(&train(&out, &[])));
        out
    })
}

/// A copy of a safetensors file with `edit` applied to the f32 values of `name`.
fn edited(src: &Path, dst: &Path, name: &str, edit: impl Fn(&mut [f32])) {
    let bytes = std::fs::read(src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let t = owned.iter_mut().find(|t| t.0 == name).expect("tensor");
    let mut values: Vec<f32> = bytemuck::pod_collect_to_vec(&t.3);
    edit(&mut values);
    t.3 = bytemuck::cast_slice(&values).to_vec();
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(n, d, sh, b)| (n.clone(), TensorView::new(*d, sh.clone(), b).unwrap()))
        .collect();
    let meta: Option<HashMap<String, String>> = header.metadata().clone();
    std::fs::write(dst, safetensors::serialize(views, meta).unwrap()).unwrap();
}

/// A plain state_dict (no metadata, model tensors only), names passed through `rename`.
fn plain(src: &Path, dst: &Path, rename: impl Fn(&str) -> String) {
    let bytes = std::fs::read(src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let views: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| !n.starts_with('_'))
        .map(|(n, v)| (rename(&n), v))
        .collect();
    std::fs::write(dst, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn a_finished_run_is_replaced_only_with_overwrite_and_never_through_its_own_files() {
    let dir = scratch("overwrite");
    let out = dir.join("run");
    ok(&cskd(&train(&out, &[])));
    let last = out.join("last.safetensors");
    let before = std::fs::read(&last).unwrap();
    let err = fails_with(&cskd(&train(&out, &["--seed", "2"])), "already holds a run");
    assert!(
        err.contains("--resume") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(&last).unwrap(), before, "nothing replaced");
    // The finished message's own advice, pointed at the same folder: refused, even with --overwrite.
    for extra in [
        &["--init", s(&last)][..],
        &["--init", s(&last), "--overwrite"],
    ] {
        let err = fails_with(&cskd(&train(&out, extra)), "would overwrite --init");
        assert!(err.contains("last.safetensors"), "{err}");
    }
    // A teacher inside the output folder, spelled another way.
    let teacher = out.join("../run/best.safetensors");
    fails_with(
        &cskd(&train(
            &out,
            &["--teacher", s(&teacher), "--kd-lambda", "1", "--overwrite"],
        )),
        "would overwrite --teacher",
    );
    assert_eq!(std::fs::read(&last).unwrap(), before);
    // --overwrite replaces the run, and nothing of the old one is left beside the new one.
    std::fs::write(out.join("last-good.safetensors"), b"old").unwrap();
    ok(&cskd(&train(&out, &["--seed", "2", "--overwrite"])));
    assert_ne!(std::fs::read(&last).unwrap(), before);
    assert!(!out.join("last-good.safetensors").exists());
    // --out naming a file says so.
    fails_with(&cskd(&train(&last, &[])), "is a file; give a directory");
}

#[test]
fn export_step_logits_and_subset_never_write_over_their_inputs() {
    let dir = scratch("inputs");
    let ckpt = dir.join("ckpt.safetensors");
    std::fs::copy(finished_run().join("last.safetensors"), &ckpt).unwrap();
    let before = std::fs::read(&ckpt).unwrap();
    let dotted = dir.join("x/../ckpt.safetensors");
    std::fs::create_dir_all(dir.join("x")).unwrap();
    for args in [
        vec!["export", "--checkpoint", s(&ckpt), "--out", s(&dotted)],
        vec![
            "step",
            "--checkpoint",
            s(&ckpt),
            "--data",
            tiny_data(),
            "--anchors",
            "0",
            "--out",
            s(&ckpt),
        ],
        vec![
            "logits",
            "--checkpoint",
            s(&ckpt),
            "--data",
            tiny_data(),
            "--out",
            s(&dotted),
        ],
    ] {
        fails_with(&cskd(&args), "would overwrite --checkpoint");
        assert_eq!(std::fs::read(&ckpt).unwrap(), before, "{args:?}");
    }
    let copy = dir.join("data.tar.gz");
    std::fs::copy(tiny_data(), &copy).unwrap();
    fails_with(
        &cskd(&[
            "subset",
            "--data",
            s(&copy),
            "--per-class",
            "1",
            "--out",
            s(&copy),
        ]),
        "would overwrite --data",
    );
}

#[test]
fn step_validates_its_learning_rate_and_batch_like_train() {
    let ckpt = finished_run().join("last.safetensors");
    let dir = scratch("step");
    let out = dir.join("after.safetensors");
    for lr in ["nan", "inf", "-5", "-0.1"] {
        let flag = format!("--lr={lr}");
        let o = cskd(&[
            "step",
            "--checkpoint",
            s(&ckpt),
            "--data",
            tiny_data(),
            "--anchors",
            "0,1",
            &flag,
            "--out",
            s(&out),
        ]);
        fails_with(&o, "lr =");
        assert!(!out.exists(), "--lr {lr} wrote a checkpoint");
    }
    let many = vec!["0"; 20_000].join(",");
    let o = cskd(&[
        "step",
        "--checkpoint",
        s(&ckpt),
        "--data",
        tiny_data(),
        "--anchors",
        &many,
        "--out",
        s(&out),
    ]);
    let err = fails_with(&o, "at most 4096");
    assert!(!err.to_lowercase().contains("validation"), "{err}");
}

#[test]
fn a_non_finite_or_negative_variance_tensor_is_refused_by_every_loader_naming_it() {
    let dir = scratch("nonfinite");
    let last = finished_run().join("last.safetensors");
    let cases = [
        ("features.0.weight", f32::NAN, "NaN"),
        ("features.1.running_var", f32::INFINITY, "inf"),
        ("features.1.running_var", -0.5, "never negative"),
    ];
    let export_out = dir.join("x.safetensors");
    for (i, (name, value, word)) in cases.into_iter().enumerate() {
        let bad = dir.join(format!("bad{i}.safetensors"));
        edited(&last, &bad, name, |v| v[0] = value);
        let out = dir.join(format!("run{i}"));
        let runs = [
            train(&out, &["--init", s(&bad)]),
            vec!["eval", "--checkpoint", s(&bad), "--data", tiny_data()],
            vec!["export", "--checkpoint", s(&bad), "--out", s(&export_out)],
            train(&out, &["--teacher", s(&bad), "--kd-lambda", "1"]),
        ];
        for args in runs {
            let err = fails_with(&cskd(&args), name);
            assert!(
                err.contains(word) && err.contains(s(&bad)),
                "{args:?}: {err}"
            );
            assert!(!err.contains("training diverged"), "{err}");
            assert!(!out.join("last-good.safetensors").exists());
            assert!(!export_out.exists());
        }
    }
}

#[test]
fn a_teacher_of_other_classes_or_a_resume_with_another_teacher_is_refused() {
    let dir = scratch("teacher");
    let teacher = finished_run().join("last.safetensors");
    // Same count, other names.
    let renamed = dir.join("renamed.safetensors");
    let bytes = std::fs::read(&teacher).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("thing{i}")).collect();
    meta.insert("classes".into(), serde_json::to_string(&names).unwrap());
    std::fs::write(
        &renamed,
        safetensors::serialize(st.tensors(), Some(meta)).unwrap(),
    )
    .unwrap();
    let out = dir.join("kd");
    fails_with(
        &cskd(&train(
            &out,
            &["--teacher", s(&renamed), "--kd-lambda", "1"],
        )),
        "trained on the classes thing0",
    );
    // A KD run of 2 epochs stopped after one (a full disk at the second checkpoint), then resumed
    // with another teacher.
    let other = dir.join("other.safetensors");
    edited(&teacher, &other, "features.0.weight", |v| v[0] += 0.5);
    let mut args = train(&out, &["--teacher", s(&teacher), "--kd-lambda", "1"]);
    let e = args.iter().position(|a| *a == "--epochs").unwrap();
    args[e + 1] = "2";
    let o = cskd_env(&args, &FULL_DISK_AT_SECOND_CHECKPOINT);
    assert!(
        !o.status.success(),
        "the injected full disk should stop the run"
    );
    let resume = out.join("last.safetensors");
    let resume_with = |t: &Path| {
        cskd(&[
            "train",
            "--data",
            tiny_data(),
            "--resume",
            s(&resume),
            "--teacher",
            s(t),
            "--kd-lambda",
            "1",
            "--quiet",
            "--out",
            s(&out),
        ])
    };
    let err = fails_with(&resume_with(&other), "another teacher");
    assert!(err.contains(s(&resume)), "{err}");
    ok(&resume_with(&teacher));
}

/// Fault injection: the first `last.safetensors` write succeeds, the second fails as on a full disk.
const FULL_DISK_AT_SECOND_CHECKPOINT: [(&str, &str); 3] = [
    ("CSKD_FAULT_FILE", "last.safetensors"),
    ("CSKD_FAULT_SKIP", "1"),
    ("CSKD_FAULT_WRITE_FAIL_AFTER", "0"),
];

#[test]
fn subset_reads_zero_as_all_like_train() {
    let dir = scratch("subset0");
    let out = dir.join("all.tar.gz");
    let o = cskd(&[
        "subset",
        "--data",
        tiny_data(),
        "--per-class",
        "0",
        "--test-per-class",
        "0",
        "--out",
        s(&out),
    ]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    ok(&o);
    assert!(text.contains("60 train + 20 test images"), "{text}");
}

#[test]
fn a_resume_keeps_earlier_metrics_lines_as_written() {
    let dir = scratch("metrics");
    let out = dir.join("run");
    let mut args = train(&out, &[]);
    let e = args.iter().position(|a| *a == "--epochs").unwrap();
    args[e + 1] = "3";
    let o = cskd_env(&args, &FULL_DISK_AT_SECOND_CHECKPOINT);
    assert!(
        !o.status.success(),
        "the injected full disk should stop the run"
    );
    let first = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(first.lines().count(), 1, "{first}");
    ok(&cskd(&[
        "train",
        "--data",
        tiny_data(),
        "--resume",
        s(&out.join("last.safetensors")),
        "--quiet",
        "--out",
        s(&out),
    ]));
    let after = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(after.lines().count(), 3);
    assert!(
        after.starts_with(&first),
        "the first line changed:\n{first}\n{after}"
    );
}

#[test]
fn errors_name_the_file_and_say_what_to_do() {
    let dir = scratch("errors");
    let last = finished_run().join("last.safetensors");
    // A DistributedDataParallel state_dict: `module.` names.
    let ddp = dir.join("ddp.safetensors");
    plain(&last, &ddp, |n| format!("module.{n}"));
    let err = fails_with(
        &cskd(&[
            "eval",
            "--checkpoint",
            s(&ddp),
            "--data",
            tiny_data(),
            "--width",
            "4",
        ]),
        "module.",
    );
    assert!(
        err.contains("removeprefix") && err.contains(s(&ddp)),
        "{err}"
    );
    // A plain state_dict of width 4 read as width 8.
    let sd = dir.join("plain.safetensors");
    plain(&last, &sd, str::to_string);
    let err = fails_with(
        &cskd(&[
            "eval",
            "--checkpoint",
            s(&sd),
            "--data",
            tiny_data(),
            "--width",
            "8",
        ]),
        "pass --width 4",
    );
    assert!(!err.contains("ModelConfig {"), "{err}");
    // `step` with a plain state_dict names the file.
    fails_with(
        &cskd(&[
            "step",
            "--checkpoint",
            s(&sd),
            "--data",
            tiny_data(),
            "--anchors",
            "0",
            "--out",
            s(&dir.join("s.safetensors")),
        ]),
        s(&sd),
    );
    // Resume differences in the user's numbers, not f64 expansions of f32.
    let o = cskd(&[
        "train",
        "--data",
        tiny_data(),
        "--resume",
        s(&last),
        "--lr",
        "0.3",
        "--quiet",
        "--out",
        s(&dir.join("r")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success());
    assert!(
        !err.contains("0.10000000149011612") && !err.contains("0.30000001192092896"),
        "{err}"
    );
    // A teacher whose metadata names an impossible model: the error names the teacher file.
    let bad_meta = dir.join("bad-meta.safetensors");
    let bytes = std::fs::read(&last).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    meta.insert(
        "model".into(),
        r#"{"name":"smallcnn","width":0,"classes":10}"#.into(),
    );
    std::fs::write(
        &bad_meta,
        safetensors::serialize(st.tensors(), Some(meta)).unwrap(),
    )
    .unwrap();
    let err = fails_with(
        &cskd(&train(
            &dir.join("t"),
            &["--teacher", s(&bad_meta), "--kd-lambda", "1"],
        )),
        s(&bad_meta),
    );
    assert!(err.contains("width 0"), "{err}");
    // A header whose shape overflows: named by its tensor.
    let huge = dir.join("huge.safetensors");
    let header = br#"{"features.0.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header);
    file.extend_from_slice(&[0; 4]);
    std::fs::write(&huge, file).unwrap();
    let err = fails_with(
        &cskd(&["eval", "--checkpoint", s(&huge), "--data", tiny_data()]),
        "features.0.weight",
    );
    assert!(err.contains(s(&huge)), "{err}");
    // A cskd checkpoint of another width, given to a run: both models in words.
    let err = fails_with(
        &cskd(&[
            "train",
            "--data",
            tiny_data(),
            "--width",
            "8",
            "--init",
            s(&last),
            "--quiet",
            "--out",
            s(&dir.join("w8")),
        ]),
        "holds a smallcnn (width 4, 10 classes), but this run's model is a smallcnn (width 8",
    );
    assert!(!err.contains("ModelConfig"), "{err}");
    // A full disk inside a grid is an I/O error, not "invalid configuration".
    let o = cskd_env(
        &[
            "experiment",
            "--data",
            tiny_data(),
            "--width",
            "4",
            "--epochs",
            "1",
            "--batch",
            "16",
            "--methods",
            "ce",
            "--seeds",
            "1",
            "--quiet",
            "--out",
            s(&dir.join("grid")),
        ],
        &[
            ("CSKD_FAULT_FILE", "last.safetensors"),
            ("CSKD_FAULT_WRITE_FAIL_AFTER", "0"),
        ],
    );
    let err = fails_with(&o, "I/O error on");
    assert!(
        err.contains("ce seed 1") && !err.contains("invalid configuration"),
        "{err}"
    );
    // A backend name wgpu does not know.
    let o = cskd_env(&["info"], &[("WGPU_BACKEND", "nonsense")]);
    fails_with(&o, "WGPU_BACKEND=nonsense");
    // Divergence says so once.
    let out = dir.join("diverge");
    let err = fails_with(&cskd(&train(&out, &["--lr", "1e30"])), "training diverged");
    assert_eq!(err.matches("training diverged").count(), 1, "{err}");
    assert!(!err.contains("invalid configuration"), "{err}");
}

#[test]
fn ignored_flags_get_a_warning() {
    let dir = scratch("ignored");
    let err = ok(&cskd(&train(
        &dir.join("a"),
        &["--mix-alpha", "0.4", "--per-class", "500"],
    )));
    assert!(
        err.contains("warning: --mix-alpha has no effect without --mix"),
        "{err}"
    );
    assert!(err.contains("warning: --per-class 500"), "{err}");
}
