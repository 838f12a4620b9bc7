//! The WGSL sources, compiled into the binary so native and wasm builds carry the same kernels.
//! Every kernel file is compiled after the shared prelude (`shaders/prelude.wgsl`).

/// Every shader by name (the name is the file stem under `shaders/`).
pub const ALL: &[(&str, &str)] = &[
    ("augment", include_str!("../shaders/augment.wgsl")),
    ("batchnorm", include_str!("../shaders/batchnorm.wgsl")),
    (
        "conv2d_generic",
        include_str!("../shaders/conv2d_generic.wgsl"),
    ),
    (
        "conv2d_compact3",
        include_str!("../shaders/conv2d_compact3.wgsl"),
    ),
    (
        "conv2d_shared",
        include_str!("../shaders/conv2d_shared.wgsl"),
    ),
    ("conv2d_tiled", include_str!("../shaders/conv2d_tiled.wgsl")),
    ("elementwise", include_str!("../shaders/elementwise.wgsl")),
    ("loss", include_str!("../shaders/loss.wgsl")),
    (
        "matmul_generic",
        include_str!("../shaders/matmul_generic.wgsl"),
    ),
    (
        "matmul_shared",
        include_str!("../shaders/matmul_shared.wgsl"),
    ),
    ("matmul_tiled", include_str!("../shaders/matmul_tiled.wgsl")),
    ("mix", include_str!("../shaders/mix.wgsl")),
    ("pool", include_str!("../shaders/pool.wgsl")),
    ("sgd", include_str!("../shaders/sgd.wgsl")),
    ("soft_loss", include_str!("../shaders/soft_loss.wgsl")),
    ("softmax", include_str!("../shaders/softmax.wgsl")),
];

/// Helpers every kernel file may use: 1-D indexing, finiteness, workgroup reductions.
pub const PRELUDE: &str = include_str!("../shaders/prelude.wgsl");

/// The full source of a kernel file as it is compiled: the 1-D workgroup size from the one Rust
/// constant, the prelude, then the file.
pub fn source(name: &str) -> Option<String> {
    let file = ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)?;
    Some(format!(
        "const WG_1D: u32 = {}u;\n{PRELUDE}\n{file}",
        crate::gpu::WG_1D
    ))
}
