//! `cskd bench kernels`: every op kernel, in the spirit of llm.c's `dev/cuda`. Each is first run at
//! a small odd shape and a small aligned one (multiples of 4 and 8: the vectorised fast paths) and
//! checked against `crate::reference` within a stated tolerance (a mismatch fails the run, naming
//! the kernel), then timed at W1's shapes (median of `reps` launches). The shader entry points W1's
//! shapes dispatch must all have been among those checked, else the run fails too.
//!
//! The kernels, their shapes, references and tolerances are one registry (`cases`), which the
//! tests run too (`check_kernel`, at every shape but W1's, for every kernel family); `validate`
//! checks, `time` times and reports.

mod cases;
mod time;
mod validate;

pub use cases::CONV_EDGES;
pub use time::KernelCheck;

use crate::error::{Error, Result};
use crate::gpu::{BufferPool, Gpu};
use cases::{KernelCase, Shape, KERNELS};

/// Where a kernel is timed: W1's shapes, or the small checked shape again (fast, for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelSize {
    W1,
    Small,
}

/// The names `--only` can select from, in the registry's order.
pub fn kernel_names() -> Vec<&'static str> {
    KERNELS.iter().map(|k| k.name).collect()
}

/// Checks then times every kernel whose name contains `only` (all when `None`) on `gpu`'s kernel
/// family; `batch` is W1's images per conv (its anchors).
pub async fn kernels(
    gpu: &Gpu,
    only: Option<&str>,
    batch: usize,
    reps: usize,
    size: KernelSize,
) -> Result<Vec<KernelCheck>> {
    let chosen: Vec<_> = KERNELS
        .iter()
        .filter(|k| only.is_none_or(|o| k.name.contains(o)))
        .collect();
    if chosen.is_empty() {
        return Err(Error::Config(format!(
            "no kernel matches --only {:?}; kernels: {}",
            only.unwrap_or(""),
            kernel_names().join(", ")
        )));
    }
    run(gpu, &chosen, batch, reps, size).await
}

/// `kernels` for the kernels named exactly `names`, in that order (the JS API's `benchKernels`,
/// which the page calls kernel by kernel); an unknown name is an error listing the registry.
pub async fn kernels_named(
    gpu: &Gpu,
    names: &[String],
    batch: usize,
    reps: usize,
    size: KernelSize,
) -> Result<Vec<KernelCheck>> {
    let chosen = names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?;
    run(gpu, &chosen, batch, reps, size).await
}

fn find(name: &str) -> Result<&'static KernelCase> {
    KERNELS.iter().find(|k| k.name == name).ok_or_else(|| {
        Error::Config(format!(
            "no kernel {name:?} in the registry; kernels: {}",
            kernel_names().join(", ")
        ))
    })
}

async fn run(
    gpu: &Gpu,
    chosen: &[&KernelCase],
    batch: usize,
    reps: usize,
    size: KernelSize,
) -> Result<Vec<KernelCheck>> {
    super::at_least_one(&[("batch (--batch)", batch), ("repetitions (--reps)", reps)])?;
    // The largest W1-shaped tensor: a 32-channel 32×32 activation per image.
    let max_binding = gpu.limits.max_storage_buffer_binding_size;
    if size == KernelSize::W1 && 4 * 32 * 32 * 32 * batch as u64 > max_binding {
        return Err(Error::Config(format!(
            "bench kernels at batch {batch} needs buffers over this adapter's max_storage_buffer_binding_size ({max_binding} bytes): lower --batch"
        )));
    }
    let pool = BufferPool::new();
    let mut out = Vec::new();
    for &kernel in chosen {
        let what = kernel.describe(gpu);
        let row = one(gpu, &pool, kernel, batch, reps, size).await;
        // A mismatch names the kernel already; a failed launch or read (a lost device) does not.
        out.push(row.map_err(|e| match e.to_string().contains(&what) {
            true => e,
            false => e.context(what),
        })?);
    }
    Ok(out)
}

async fn one(
    gpu: &Gpu,
    pool: &BufferPool,
    kernel: &KernelCase,
    batch: usize,
    reps: usize,
    size: KernelSize,
) -> Result<KernelCheck> {
    let mut checked = validate::check(gpu, pool, kernel, false, batch).await?;
    let timed = match size {
        KernelSize::Small => checked.first.take().expect("the odd shape was checked"),
        KernelSize::W1 => kernel
            .case(gpu, pool, Shape::W1, batch)
            .expect("every kernel has W1's shape"),
    };
    let (_, records) = validate::launch(gpu, pool, &timed, false).await?;
    let dispatches = validate::kernels_of(&records);
    validate::covered(&kernel.describe(gpu), &timed.shape, &dispatches, &checked)?;
    time::time(gpu, pool, kernel, &checked, &timed, &records, reps).await
}

/// Checks the kernel named `name` on `gpu`'s family at every shape of the registry but W1's (the
/// small odd and aligned ones and every edge case); returns the shapes checked. The tests run this
/// for every kernel and every family.
pub async fn check_kernel(gpu: &Gpu, name: &str) -> Result<Vec<String>> {
    let kernel = find(name)?;
    let pool = BufferPool::new();
    Ok(validate::check(gpu, &pool, kernel, true, 1).await?.shapes)
}
