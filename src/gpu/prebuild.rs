//! Pipelines built ahead of the step that needs them (W3, time to the first step: docs/BENCHMARKS.md).
//! A planning recorder (`Recorder::planning`) runs a step's recording without encoding anything and
//! lists the kernels it dispatches; `PipelineCache::prebuild` builds those not built yet, on several
//! threads natively (wgpu's device is Send + Sync there; error scopes are per thread), one after
//! another on the web. The cache stays the one owner of every pipeline, so the
//! step that follows finds each one built (`tests/prebuild.rs` checks it builds none).

use super::pipelines::{Kernel, PipelineCache};
use crate::shaders::F16Slots;

/// A kernel as a plan keeps it (`Kernel` borrows its override constants).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Planned {
    shader: &'static str,
    entry: &'static str,
    constants: Vec<(&'static str, f64)>,
    /// The bindings typed f16 (`PipelineCache::get`).
    f16_slots: F16Slots,
}

impl Planned {
    pub fn of(k: &Kernel, f16_slots: F16Slots) -> Planned {
        let Kernel {
            shader,
            entry,
            constants,
        } = *k;
        Planned {
            shader,
            entry,
            constants: constants.to_vec(),
            f16_slots,
        }
    }

    fn kernel(&self) -> Kernel<'_> {
        Kernel::with(self.shader, self.entry, &self.constants)
    }
}

impl PipelineCache {
    /// Builds the pipelines of `plan` (a planning recorder's kernels, each once) that are not
    /// built yet; returns how many it built.
    pub(crate) fn prebuild(&self, plan: &[Planned]) -> usize {
        let before = self.built();
        in_parallel(plan, |k| {
            self.get(&k.kernel(), k.f16_slots);
        });
        (self.built() - before) as usize
    }
}

/// Runs `f` on every item, on up to as many threads as the machine has cores (each takes the next
/// item when it is done with one).
#[cfg(not(target_arch = "wasm32"))]
fn in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    let next = AtomicUsize::new(0);
    let work = || {
        while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
            f(item);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
}

/// On the web, in order: no threads (and wgpu's handles are not `Sync` there).
#[cfg(target_arch = "wasm32")]
fn in_parallel<T>(items: &[T], f: impl Fn(&T)) {
    items.iter().for_each(f);
}
