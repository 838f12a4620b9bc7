//! The GPU performance model (`cskd::bench::gpu_model`) and the reflection it rests on: FLOPs come
//! from the op's shape, time grows with work and with waves, the step is the sum of its kernels
//! and launches, and a recorded W1 step is modelled dispatch by dispatch. Tiny shapes (lavapipe).

mod common;

use cskd::bench::gpu_model::{
    self, estimate, gpu_class, model_dispatches, occupancy, Bound, Limiter, GPUS, LAUNCH_US_NATIVE,
};
use cskd::bench::reflect::{reflect, reflect_source, PipelineShape};
use cskd::gpu::profile::{self, DispatchTime, OpFamily};
use cskd::gpu::{BufferPool, KernelFamily, Recorder, Tensor};
use cskd::ops::conv2d;

fn shared() -> &'static cskd::gpu::Gpu {
    common::family_gpu(KernelFamily::Shared)
}

/// The dispatches of one tiny 3×3 conv forward (N2 C3 K4 6×6, pad 1) on the shared family.
fn conv_records() -> Vec<DispatchTime> {
    let gpu = shared();
    let pool = BufferPool::new();
    let (n, c, h, w, k) = (2, 3, 6, 6, 4);
    let x = Tensor::from_slice(
        &gpu.device,
        &gpu.queue,
        &[n, c, h, w],
        &vec![0.5f32; n * c * h * w],
    );
    let wt = Tensor::from_slice(
        &gpu.device,
        &gpu.queue,
        &[k, c, 3, 3],
        &vec![0.1f32; k * c * 9],
    );
    let mut rec = Recorder::profiled(gpu, &pool).expect("profiling recorder");
    drop(conv2d::forward(&mut rec, &x, &wt, 1, 1));
    pollster::block_on(profile::finish(&mut rec))
        .expect("finish")
        .1
}

fn rtx3060() -> &'static gpu_model::GpuClass {
    gpu_class("rtx3060").unwrap()
}

#[test]
fn conv_flops_are_the_shapes_and_every_field_is_reflected() {
    let records = conv_records();
    assert!(!records.is_empty());
    let m = model_dispatches(&records, rtx3060(), 2).expect("model");
    let conv: Vec<_> = m
        .dispatches
        .iter()
        .filter(|d| d.family == Some(OpFamily::ConvForward))
        .collect();
    assert!(!conv.is_empty(), "{:?}", records);
    // 2·N·K·C·R·S·OH·OW, at stride 1 pad 1 OH = H, OW = W.
    let want = 2.0 * (2 * 4 * 3 * 3 * 3 * 6 * 6) as f64;
    assert_eq!(conv.iter().map(|d| d.flops).sum::<f64>(), want);
    for (d, r) in m.dispatches.iter().zip(&records) {
        assert_eq!(d.workgroups, r.workgroups());
        assert!(d.workgroups >= 1);
        let (shader, entry) = r.shader_entry();
        let shape = reflect(shader, entry, &r.constants, r.f16_slots).expect("reflect");
        assert_eq!(d.workgroup_size, shape.workgroup_size);
        assert_eq!(d.workgroup_bytes, shape.workgroup_bytes);
        assert!(d.registers >= cskd::bench::reflect::BASE_REGISTERS);
        assert!(d.resident_per_sm >= 1 && d.waves >= 1);
        assert!(d.kernel_us > 0.0 && d.utilization > 0.0 && d.utilization <= 1.0);
    }
    // The shared family's conv is a GEMM with workgroup tiles and a register tile of its own.
    let g = conv[0];
    assert!(g.workgroup_bytes > 0, "{g:?}");
    assert!(g.tile.0 * g.tile.1 > 1, "{g:?}");
    assert!((g.intensity - g.flops / g.bytes).abs() < 1e-9);
}

/// A synthetic dispatch of the shared conv kernel as the recorder saw it.
fn synthetic(template: &DispatchTime, flops: f64, bytes: f64, groups: [u32; 3]) -> DispatchTime {
    DispatchTime {
        flops,
        bytes,
        groups,
        ..template.clone()
    }
}

fn gemm_template() -> (DispatchTime, PipelineShape) {
    let records = conv_records();
    let r = records
        .iter()
        .find(|r| r.family == Some(OpFamily::ConvForward))
        .expect("a conv dispatch")
        .clone();
    let (shader, entry) = r.shader_entry();
    let shape = reflect(shader, entry, &r.constants, r.f16_slots).unwrap();
    (r, shape)
}

#[test]
fn time_is_monotone_in_flops_and_bytes() {
    let (t, shape) = gemm_template();
    let gpu = rtx3060();
    let mut last = 0.0;
    for f in [1e6, 1e7, 1e8, 1e9, 1e10] {
        let e = estimate(&synthetic(&t, f, 1e6, [64, 8, 1]), &shape, gpu, 0.0);
        assert!(
            e.kernel_us >= last,
            "{f} FLOPs: {} us < {last}",
            e.kernel_us
        );
        last = e.kernel_us;
    }
    let e = estimate(&synthetic(&t, 1e10, 1e6, [64, 8, 1]), &shape, gpu, 0.0);
    assert_eq!(e.bound, Bound::Compute);
    let e = estimate(&synthetic(&t, 0.0, 1e8, [64, 8, 1]), &shape, gpu, 0.0);
    assert_eq!(e.bound, Bound::Memory);
    let more = estimate(&synthetic(&t, 0.0, 2e8, [64, 8, 1]), &shape, gpu, 0.0);
    assert!(more.kernel_us > e.kernel_us);
    // A faster GPU class is no slower on a compute-bound kernel.
    let fast = gpu_class("rtx3080-laptop").unwrap();
    let a = estimate(&synthetic(&t, 1e10, 1e6, [64, 8, 1]), &shape, gpu, 0.0);
    let b = estimate(&synthetic(&t, 1e10, 1e6, [64, 8, 1]), &shape, fast, 0.0);
    assert!(b.kernel_us < a.kernel_us);
}

#[test]
fn a_grid_past_one_wave_takes_more_waves() {
    let (t, shape) = gemm_template();
    let gpu = rtx3060();
    let (resident, _) = occupancy(&shape, gpu);
    let wave = gpu.sms * resident;
    // Each workgroup does the same work: the total grows with the grid.
    let per = |g: u32| synthetic(&t, 1e6 * g as f64, 1e3 * g as f64, [g, 1, 1]);
    let one = estimate(&per(wave), &shape, gpu, 0.0);
    let two = estimate(&per(wave + 1), &shape, gpu, 0.0);
    assert_eq!(one.waves, 1);
    assert_eq!(two.waves, 2);
    assert!(two.kernel_us > one.kernel_us);
    // The partial second wave is quantized: one extra workgroup costs more than its share.
    assert!(two.kernel_us - one.kernel_us > one.kernel_us / wave as f64);
    assert!(two.utilization < one.utilization);
    let four = estimate(&per(4 * wave), &shape, gpu, 0.0);
    assert_eq!(four.waves, 4);
}

#[test]
fn occupancy_names_its_limit() {
    let gpu = rtx3060();
    let base = PipelineShape {
        workgroup_size: [256, 1, 1],
        workgroup_bytes: 0,
        registers: 16,
        tile: (1, 1),
        tile_declared: false,
    };
    assert_eq!(occupancy(&base, gpu), (6, Limiter::Threads));
    let regs = PipelineShape {
        registers: 128,
        ..base.clone()
    };
    assert_eq!(occupancy(&regs, gpu), (2, Limiter::Registers));
    let smem = PipelineShape {
        workgroup_bytes: 48 * 1024,
        ..base.clone()
    };
    assert_eq!(occupancy(&smem, gpu), (2, Limiter::WorkgroupMemory));
    let tiny = PipelineShape {
        workgroup_size: [32, 1, 1],
        ..base
    };
    assert_eq!(occupancy(&tiny, gpu), (16, Limiter::Groups));
}

#[test]
fn reflection_applies_overrides_and_reads_the_register_tile() {
    let src = "
        override WG: u32 = 64u;
        override TN: u32 = 4u;
        const TM: u32 = 8u;
        var<workgroup> a: array<f32, 100>;
        var<workgroup> unused: array<f32, 1000>;
        @group(0) @binding(0) var<storage, read_write> out: array<f32>;
        @compute @workgroup_size(WG, 2)
        fn main(@builtin(local_invocation_index) i: u32) {
            var acc: array<f32, 32>;
            a[i] = f32(TM * TN);
            workgroupBarrier();
            acc[0] = a[0];
            out[i] = acc[0];
        }
        @compute @workgroup_size(8)
        fn other(@builtin(local_invocation_index) i: u32) { unused[i] = 1.0; var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); out[i] = unused[0] + acc0.x + acc1.x; }
    ";
    let s = reflect_source(src, "main", &[("WG".into(), 128.0), ("TN".into(), 2.0)]).unwrap();
    assert_eq!(s.workgroup_size, [128, 2, 1]);
    assert_eq!(
        s.workgroup_bytes, 400,
        "only the workgroup memory the entry point uses"
    );
    assert_eq!((s.tile, s.tile_declared), ((8, 2), true));
    assert!(s.registers >= cskd::bench::reflect::BASE_REGISTERS + 32);
    let o = reflect_source(src, "other", &[]).unwrap();
    assert_eq!(o.workgroup_size, [8, 1, 1]);
    assert_eq!(o.workgroup_bytes, 4000);
    assert_eq!(
        (o.tile, o.tile_declared),
        ((3, 3), true),
        "8 acc words: ~3×3"
    );
    assert!(reflect_source(src, "nope", &[]).is_err());
}

#[test]
fn the_step_is_its_kernels_plus_launches_and_every_w1_dispatch_is_classified() {
    let (records, images) =
        pollster::block_on(gpu_model::record_w1(common::gpu(), true, 2)).expect("record W1");
    assert!(!records.is_empty());
    assert_eq!(images, 4);
    assert!(records.iter().all(|r| r.family.is_some()), "{records:?}");
    for class in GPUS {
        let m = model_dispatches(&records, class, images).expect("model");
        assert_eq!(m.dispatches.len(), records.len());
        let kernels: f64 = m.dispatches.iter().map(|d| d.kernel_us).sum();
        let launches: f64 = m.dispatches.iter().map(|d| d.launch_us).sum();
        assert!((m.step_ms * 1e3 - (kernels + launches)).abs() < 1e-6);
        assert!((m.kernel_ms * 1e3 - kernels).abs() < 1e-6);
        assert!((launches - records.len() as f64 * LAUNCH_US_NATIVE).abs() < 1e-6);
        let top: f64 = m.top.iter().map(|t| t.us).sum();
        assert!(
            (top - m.step_ms * 1e3).abs() < 1e-6,
            "the per-kernel totals add up"
        );
        assert!(m.browser_step_ms > m.step_ms);
        assert!((m.images_per_sec - images as f64 / m.step_ms * 1e3).abs() < 1e-6);
        assert!(m.pytorch.ops >= 1 && m.pytorch.ops <= records.len());
        assert!(m.pytorch.step_ms > 0.0);
        assert_eq!(
            m.pytorch.measured_images_per_sec.is_some(),
            class.key == "rtx3060"
        );
        for d in &m.dispatches {
            assert!(
                d.family.is_some() && d.waves >= 1 && d.kernel_us > 0.0,
                "{d:?}"
            );
        }
        // The step's convs declare their FLOPs: the model has compute to do.
        assert!(m.flops > 0.0);
        let text = m.table();
        assert!(text.contains("PyTorch CUDA eager") && text.contains(class.name));
    }
    assert!(gpu_class("RTX-3060").is_ok());
    assert!(gpu_class("voodoo2").is_err());
}
