//! The profiler and the per-kernel harness: a profiled W1 step attributes every dispatch to a known
//! op family and declares the convolutions' FLOPs, and it computes exactly what an unprofiled step
//! does, for every kernel family; `cskd bench kernels` checks every kernel of every family against
//! the CPU reference.

#[path = "common/cli.rs"]
mod cli;
mod common;

use cskd::bench::{profile_w1, W1Setup};
use cskd::gpu::profile::{self, OpFamily, TimingMethod};
use cskd::gpu::{BufferPool, Gpu, Recorder};

crate::family_tests!(profiled_w1_is_attributed_and_changes_nothing);

fn profiled_w1_is_attributed_and_changes_nothing(gpu: &Gpu) {
    let family = gpu.family();
    for cskd in [true, false] {
        let what = format!("{family} cskd={cskd}");
        let p = pollster::block_on(profile_w1(gpu, cskd, 2)).expect("profile");
        assert_eq!(
            p.timing,
            TimingMethod::Timestamps,
            "lavapipe has timestamps"
        );
        assert!(p.unknown.is_empty(), "{what}: unattributed {:?}", p.unknown);
        assert!(p.kernels.iter().all(|k| k.family.is_some()));
        assert_eq!(
            p.images_per_step, 4,
            "{what}: CE moves as many images as CS-KD"
        );
        assert!(p.gpu_ms > 0.0, "{what}: no GPU time");
        for f in ["conv forward", "conv input-grad", "conv weight-grad"] {
            let row = p.families.iter().find(|r| r.family == f);
            let row = row.unwrap_or_else(|| panic!("{what}: no {f} row"));
            assert!(
                row.gflops.is_some_and(|g| g > 0.0),
                "{what}: {f} declares no FLOPs"
            );
        }
        assert!(p.table().contains("GPU total"));
    }

    // Same weights, same data: the profiled steps give bit-identical losses, before and after
    // an SGD update.
    let pool = BufferPool::new();
    let (plain, profiled) = (
        W1Setup::new(gpu, true, 2).unwrap(),
        W1Setup::new(gpu, true, 2).unwrap(),
    );
    for step in 0..2 {
        let a = pollster::block_on(plain.step(&mut Recorder::new(gpu, &pool))).unwrap();
        let mut rec = Recorder::profiled(gpu, &pool).unwrap();
        let loss = profiled.record(&mut rec);
        let (_, times) = pollster::block_on(profile::finish(&mut rec)).unwrap();
        assert_eq!(times.len(), rec.dispatches());
        let b = pollster::block_on(cskd::gpu::readback::read(&mut rec, &loss)).unwrap()[0];
        assert_eq!(a.to_bits(), b.to_bits(), "{family} step {step}: {a} vs {b}");
    }
    // The fallback without timestamps: each dispatch alone, timed on the host; same loss.
    let a = pollster::block_on(plain.step(&mut Recorder::new(gpu, &pool))).unwrap();
    let mut rec = Recorder::profiled_isolated(gpu, &pool).unwrap();
    let loss = profiled.record(&mut rec);
    let (method, times) = pollster::block_on(profile::finish(&mut rec)).unwrap();
    assert_eq!(method, TimingMethod::Isolated);
    assert!(times.iter().all(|t| t.ms > 0.0 && t.family.is_some()));
    let b = pollster::block_on(cskd::gpu::readback::read(&mut rec, &loss)).unwrap()[0];
    assert_eq!(a.to_bits(), b.to_bits(), "{family} isolated: {a} vs {b}");
}

#[test]
fn every_kernel_name_maps_to_one_family() {
    assert_eq!(
        OpFamily::of("conv2d_tiled", "backward_weight3"),
        Some(OpFamily::ConvWeightGrad)
    );
    assert_eq!(
        OpFamily::of("conv2d_generic", "backward_input"),
        Some(OpFamily::ConvInputGrad)
    );
    assert_eq!(
        OpFamily::of("conv2d_tiled", "repack_weight"),
        Some(OpFamily::ConvForward)
    );
    assert_eq!(
        OpFamily::of("matmul_shared", "matmul"),
        Some(OpFamily::Matmul)
    );
    assert_eq!(
        OpFamily::of("elementwise", "relu_forward"),
        Some(OpFamily::Relu)
    );
    assert_eq!(OpFamily::of("elementwise", "add"), Some(OpFamily::Other));
    assert_eq!(OpFamily::of("nosuch", "kernel"), None);
}

#[test]
fn bench_kernels_checks_every_kernel_of_every_family() {
    // Timed at W1's shapes with one image: every kernel W1's shapes dispatch must have been checked.
    let o = cli::cskd(&[
        "bench", "kernels", "--family", "all", "--batch", "1", "--reps", "1", "--json",
    ]);
    cli::ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    for family in ["tiled", "compact", "shared"] {
        let rows = v["kernels"][family].as_array().expect(family);
        assert!(rows.len() >= 29, "{family}: {} kernels", rows.len());
        for r in rows {
            let (err, tol) = (
                r["maxErr"].as_f64().unwrap(),
                r["tolerance"].as_f64().unwrap(),
            );
            assert!(err <= tol, "{family} {}: {err} > {tol}", r["kernel"]);
            assert!(r["medianMs"].as_f64().unwrap() > 0.0);
            assert!(!r["dispatches"].as_array().unwrap().is_empty());
        }
    }
    let o = cli::cskd(&[
        "bench", "kernels", "--only", "conv1x1", "--small", "--reps", "1",
    ]);
    cli::ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.matches("conv1x1.").count(), 3, "{stdout}");
    cli::fails_with(
        &cli::cskd(&["bench", "kernels", "--only", "nosuch", "--small"]),
        "no kernel matches",
    );
    cli::fails_with(
        &cli::cskd(&["bench", "kernels", "--family", "fast", "--small"]),
        "--family",
    );
}

#[test]
fn bench_profile_prints_the_breakdown() {
    let o = cli::cskd(&["bench", "--profile", "--batch", "2"]);
    cli::ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "W1 cskd (4 img/step)",
        "W1 ce (4 img/step)",
        "conv weight-grad",
        "GPU total",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    assert!(!out.contains("unattributed"), "{out}");
}
