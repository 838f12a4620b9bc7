//! The GPU engine: context, tensors and their pool, the pipeline cache, the step recorder, readback.

mod bind_groups;
mod context;
mod counters;
mod family;
mod pipelines;
mod prebuild;
pub mod profile;
pub mod readback;
mod recorder;
mod tensor;

pub use context::{AdapterSummary, Gpu, GpuOptions};
pub use counters::CounterSnapshot;
pub use family::KernelFamily;
pub use pipelines::Kernel;
pub use recorder::Recorder;
pub use tensor::{BufferPool, Dtype, Tensor};

/// Threads per workgroup of every 1-D kernel (WGSL sees it as `WG_1D`, see `shaders::source`).
pub const WG_1D: usize = 256;

/// Workgroups needed to cover `n` items with `size` threads each.
pub fn groups(n: usize, size: usize) -> u32 {
    n.div_ceil(size) as u32
}

/// A 1-D grid over `n` threads of `size` per workgroup, folded into 2-D when it exceeds the per-dimension
/// limit (65 535 on WebGPU). Kernels rebuild the flat index as `gid.x + gid.y * nwg.x * size`.
pub fn grid_1d(n: usize, size: usize) -> [u32; 3] {
    let g = n.div_ceil(size);
    if g <= 65535 {
        [g as u32, 1, 1]
    } else {
        let y = g.div_ceil(65535);
        [g.div_ceil(y) as u32, y as u32, 1]
    }
}
