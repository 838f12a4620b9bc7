//! The WGSL sources, compiled into the binary so native and wasm builds carry the same kernels.
//! Every kernel file is compiled after the shared prelude (`shaders/prelude.wgsl`).

use crate::gpu::Dtype;

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

/// Helpers every kernel file may use: 1-D indexing, finiteness.
pub const PRELUDE: &str = include_str!("../shaders/prelude.wgsl");

/// The prelude's workgroup reductions (`wg_sum`, `wg_max`) in workgroup memory: every adapter.
pub const REDUCE: &str = include_str!("../shaders/prelude_reduce.wgsl");

/// The same reductions with subgroup operations: only in the variants below, compiled only where
/// the device has `SUBGROUP` (`Gpu::subgroups`).
pub const REDUCE_SUBGROUPS: &str = include_str!("../shaders/prelude_reduce_subgroups.wgsl");

/// The kernel files whose reductions run on subgroups when the device allows, and the name of
/// that variant (the same file over `REDUCE_SUBGROUPS`): (file, variant).
pub const SUBGROUP_VARIANTS: &[(&str, &str)] = &[
    ("batchnorm", "batchnorm_subgroups"),
    ("loss", "loss_subgroups"),
    ("soft_loss", "soft_loss_subgroups"),
];

/// The shader to dispatch for kernel file `name`: its subgroup variant when `subgroups` and it
/// has one, else itself.
pub fn variant(name: &'static str, subgroups: bool) -> &'static str {
    match SUBGROUP_VARIANTS.iter().find(|(n, _)| *n == name) {
        Some((_, v)) if subgroups => v,
        _ => name,
    }
}

/// Bindings whose element type a kernel file may leave to the tensor bound there: binding `i`
/// declared `array<Ti>` takes f32 or f16 (mixed precision) as the dispatch binds (`F16Slots`).
pub const TYPED_BINDINGS: u32 = 8;

/// Which bindings (bit `i` = binding `i`) hold f16 tensors in a dispatch; 0 for an all-f32 one.
pub type F16Slots = u16;

/// The full source of a kernel file (or of a subgroup variant) as it is compiled: the 1-D
/// workgroup size from the one Rust constant, each typed binding's element type (`T1` … `T8`,
/// f16 where `f16_slots` says), the prelude and its reductions, then the file. An f16 tensor
/// bound where the file declares a plain f32 array is an error naming the binding.
pub fn source(name: &str, f16_slots: F16Slots) -> Result<String, String> {
    let (file, reduce, enable) = match SUBGROUP_VARIANTS.iter().find(|(_, v)| *v == name) {
        // Browsers require the enable directive; naga (native) rejects it as not yet supported
        // and accepts subgroup operations under the device's SUBGROUP capability instead.
        Some((base, _)) => (
            *base,
            REDUCE_SUBGROUPS,
            if cfg!(target_arch = "wasm32") {
                "enable subgroups;\n"
            } else {
                ""
            },
        ),
        None => (name, REDUCE, ""),
    };
    let file = ALL
        .iter()
        .find(|(n, _)| *n == file)
        .map(|(_, s)| *s)
        .ok_or_else(|| format!("unknown shader {name}"))?;
    if f16_slots >> (TYPED_BINDINGS + 1) != 0 {
        return Err(format!(
            "shader {name}: an f16 tensor bound past binding {TYPED_BINDINGS}, the last typed one"
        ));
    }
    let mut types = String::new();
    for i in 1..=TYPED_BINDINGS {
        let f16 = f16_slots & (1 << i) != 0;
        if f16 && !file.contains(&format!("array<T{i}>")) {
            return Err(format!(
                "shader {name} declares binding {i} as f32, but the dispatch binds an f16 tensor there"
            ));
        }
        let dtype = if f16 { Dtype::F16 } else { Dtype::F32 };
        types += &format!("alias T{i} = {};\n", dtype.wgsl());
    }
    let f16 = if f16_slots != 0 { "enable f16;\n" } else { "" };
    Ok(format!(
        "{f16}{enable}const WG_1D: u32 = {}u;\n{types}{PRELUDE}\n{reduce}\n{file}",
        crate::gpu::WG_1D
    ))
}
