//! The CPU adapters' families (tiled: lavapipe; compact: browsers' software adapters) run a
//! training step without one workgroup barrier (`KernelFamily::serial_reductions`): SwiftShader
//! compiles a kernel holding one about 10× slower, which was most of the browser's time to the
//! first step (docs/BENCHMARKS.md, W3), and llvmpipe runs such a workgroup's invocations as
//! coroutines. Each kernel a profiled step dispatches — CS-KD, CE and the soft-target loss — is
//! parsed by naga as it is compiled and its entry point's call graph searched for barriers. The
//! shared family (GPUs) reduces across workgroups, which the same search must find (so that it
//! can fail).

use crate::common::*;
use cskd::bench::w1::W1Setup;
use cskd::gpu::{Gpu, KernelFamily, Recorder, Tensor};
use cskd::ops::soft_loss::{soft_loss, SoftLossConfig};
use naga::{Block, Handle, Module, Statement};
use std::collections::BTreeSet;

/// The kernels ("shader::entry") of one CS-KD step, one CE step and one soft-target loss.
fn step_kernels(gpu: &Gpu) -> BTreeSet<String> {
    let pool = pool();
    let mut names = BTreeSet::new();
    for cskd in [true, false] {
        let setup = W1Setup::new(gpu, cskd, 1).unwrap();
        let mut rec = Recorder::profiled(gpu, &pool).expect("profiling recorder");
        setup.record(&mut rec);
        let (_, records) = pollster::block_on(cskd::gpu::profile::finish(&mut rec)).unwrap();
        names.extend(records.into_iter().map(|r| r.kernel));
    }
    let mut rec = Recorder::profiled(gpu, &pool).expect("profiling recorder");
    let za = upload_to(gpu, &[2, 10], &[0.5; 20]);
    let meta = Tensor::from_slice(&gpu.device, &gpu.queue, &[6], &[1u32, 2, 0, 3, 4, 1]);
    let prev = upload_to(gpu, &[2, 10], &[0.1; 20]);
    let cfg = SoftLossConfig {
        mix: 0.7,
        ..SoftLossConfig::default()
    };
    soft_loss(&mut rec, &za, Some(&za), None, &meta, Some(&prev), cfg);
    let (_, records) = pollster::block_on(cskd::gpu::profile::finish(&mut rec)).unwrap();
    names.extend(records.into_iter().map(|r| r.kernel));
    names
}

/// Whether `block`, or a function it calls, holds a barrier.
fn has_barrier(
    module: &Module,
    block: &Block,
    seen: &mut BTreeSet<Handle<naga::Function>>,
) -> bool {
    block.iter().any(|s| match s {
        Statement::ControlBarrier(_)
        | Statement::MemoryBarrier(_)
        | Statement::WorkGroupUniformLoad { .. } => true,
        Statement::Block(b) => has_barrier(module, b, seen),
        Statement::If { accept, reject, .. } => {
            has_barrier(module, accept, seen) || has_barrier(module, reject, seen)
        }
        Statement::Switch { cases, .. } => cases.iter().any(|c| has_barrier(module, &c.body, seen)),
        Statement::Loop {
            body, continuing, ..
        } => has_barrier(module, body, seen) || has_barrier(module, continuing, seen),
        Statement::Call { function, .. } => {
            seen.insert(*function) && has_barrier(module, &module.functions[*function].body, seen)
        }
        _ => false,
    })
}

/// The kernels among `names` whose entry point reaches a barrier.
fn with_barriers(names: &BTreeSet<String>) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            let (shader, entry) = name.split_once("::").expect("shader::entry");
            let src = cskd::shaders::source(shader, 0).unwrap();
            let module =
                naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{shader}: {e}"));
            let ep = module.entry_points.iter().find(|e| e.name == entry);
            let ep = ep.unwrap_or_else(|| panic!("{name}: no such entry point"));
            has_barrier(&module, &ep.function.body, &mut BTreeSet::new())
        })
        .cloned()
        .collect()
}

#[test]
fn the_cpu_adapters_families_train_without_a_workgroup_barrier() {
    for family in [KernelFamily::Tiled, KernelFamily::Compact] {
        let names = step_kernels(family_gpu(family));
        assert!(names.len() >= 15, "{family}: {names:?}");
        for reduction in [
            "stats_partial",
            "grad_partial",
            "forward_backward",
            "reduce_rows",
        ] {
            let n = names.iter().filter(|k| k.contains(reduction)).count();
            assert!(n >= 1, "{family}: no {reduction} kernel in {names:?}");
        }
        assert_eq!(with_barriers(&names), Vec::<String>::new(), "{family}");
    }
}

#[test]
fn the_barrier_search_finds_the_workgroup_reductions_of_the_shared_family() {
    for gpu in [
        family_gpu(KernelFamily::Shared),
        &family_gpu(KernelFamily::Shared).with_subgroups(false),
    ] {
        let family = gpu.family();
        let found = with_barriers(&step_kernels(gpu));
        for reduction in [
            "stats_partial",
            "grad_partial",
            "cskd_forward_backward",
            "soft_forward_backward",
            "reduce_rows",
        ] {
            assert!(
                found.iter().any(|k| k.contains(reduction)),
                "{family}: {reduction} not in {found:?}"
            );
        }
    }
}
