//! What a kernel's pipeline looks like to the GPU, reflected from its WGSL with naga after the
//! override constants it was built with (natively only): threads per workgroup, workgroup memory,
//! an estimate of registers per thread and the outputs each thread accumulates (its register
//! tile). Nothing here knows today's tile shapes: a shader rewritten with other tiles is reflected
//! as it now is.
//!
//! ## Conventions the shaders may follow (read, never required)
//!
//! * **Register tile.** A kernel declares the outputs each thread accumulates by `const` or
//!   `override` values named `TM` and `TN` (rows × columns of the per-thread tile), evaluated after
//!   the pipeline's override constants. Without them, the tile is the 32-bit words of the entry
//!   point's local variables whose names start with `acc` (`var acc0 = vec4<f32>()` … four of them
//!   = a 4×4 tile, taken as square); without those, one output per thread.
//! * **Registers per thread** are estimated as a fixed 16 (indices, addresses, builtins, loop
//!   state) plus the 32-bit words of every local variable of the entry point (accumulators,
//!   prefetched operands, loop counters) and of the `var<private>` globals it uses. Callees' locals
//!   are not added: they are transient or returned into one of the entry point's. A compiler may
//!   spill, rematerialise or keep values in fewer registers; this is an estimate, rounded up to the
//!   allocation granularity by the model.

use crate::shaders;
use naga::{AddressSpace, Module, ShaderStage};
use std::collections::HashMap;
use std::sync::Mutex;

/// Registers every thread holds besides its variables (indices, addresses, builtins, loop state).
pub const BASE_REGISTERS: u32 = 16;

/// One pipeline as reflected.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineShape {
    /// `@workgroup_size` after overrides.
    pub workgroup_size: [u32; 3],
    /// Bytes of the `var<workgroup>` globals the entry point uses.
    pub workgroup_bytes: u64,
    /// Estimated 32-bit registers per thread (see the module doc).
    pub registers: u32,
    /// Outputs each thread accumulates (its register tile: rows, columns).
    pub tile: (u32, u32),
    /// Whether the tile was declared (`TM`/`TN`) or found (`acc*` locals) rather than assumed 1×1.
    pub tile_declared: bool,
}

impl PipelineShape {
    pub fn threads(&self) -> u32 {
        self.workgroup_size.iter().product()
    }
    pub fn outputs_per_thread(&self) -> u32 {
        self.tile.0 * self.tile.1
    }
}

type Key = (String, String, Vec<(String, u64)>, u16);

static CACHE: Mutex<Option<HashMap<Key, PipelineShape>>> = Mutex::new(None);

/// Reflects `shader::entry` built with `constants` (cached); an error names the kernel.
pub fn reflect(
    shader: &str,
    entry: &str,
    constants: &[(String, f64)],
    f16_slots: u16,
) -> Result<PipelineShape, String> {
    let key: Key = (
        shader.into(),
        entry.into(),
        constants
            .iter()
            .map(|(n, v)| (n.clone(), v.to_bits()))
            .collect(),
        f16_slots,
    );
    if let Some(s) = CACHE.lock().unwrap().get_or_insert_default().get(&key) {
        return Ok(s.clone());
    }
    let source = shaders::source(shader, f16_slots)?;
    let shape = reflect_source(&source, entry, constants)
        .map_err(|e| format!("reflecting {shader}::{entry}: {e}"))?;
    CACHE
        .lock()
        .unwrap()
        .get_or_insert_default()
        .insert(key, shape.clone());
    Ok(shape)
}

/// Reflects `entry` of a full WGSL source (what `reflect` does after finding the source).
pub fn reflect_source(
    source: &str,
    entry: &str,
    constants: &[(String, f64)],
) -> Result<PipelineShape, String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| format!("{e:?}"))?;
    let mut pipeline_constants = naga::back::PipelineConstants::default();
    for (n, v) in constants {
        pipeline_constants.insert(n.clone(), *v);
    }
    let original = module;
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &original,
        &info,
        Some((ShaderStage::Compute, entry)),
        &pipeline_constants,
    )
    .map_err(|e| format!("{e}"))?;
    let (index, ep) = module
        .entry_points
        .iter()
        .enumerate()
        .find(|(_, ep)| ep.name == entry && ep.stage == ShaderStage::Compute)
        .ok_or_else(|| format!("no compute entry point {entry}"))?;
    let uses = info.get_entry_point(index);
    let words = |ty: naga::Handle<naga::Type>| module.types[ty].inner.size(module.to_ctx()) / 4;
    let mut workgroup_bytes = 0u64;
    let mut private_words = 0u32;
    for (h, g) in module.global_variables.iter() {
        if uses[h].is_empty() {
            continue;
        }
        match g.space {
            AddressSpace::WorkGroup => {
                workgroup_bytes += module.types[g.ty].inner.size(module.to_ctx()) as u64
            }
            AddressSpace::Private => private_words += words(g.ty),
            _ => {}
        }
    }
    let mut local_words = 0u32;
    let mut acc_words = 0u32;
    for (_, v) in ep.function.local_variables.iter() {
        let w = words(v.ty);
        local_words += w;
        if v.name.as_deref().is_some_and(|n| n.starts_with("acc")) {
            acc_words += w;
        }
    }
    // An override is a constant once processed; a `const` the compaction dropped (folded into
    // its uses) is still in the parsed module.
    let named = |n: &str| named_u32(&module, n).or_else(|| named_u32(&original, n));
    let (tile, tile_declared) = match (named("TM"), named("TN")) {
        (Some(m), Some(n)) => ((m.max(1), n.max(1)), true),
        _ if acc_words > 0 => {
            // Taken as square: the side whose square is nearest to the words found.
            let m = (acc_words as f64).sqrt().round().max(1.0) as u32;
            ((m, acc_words.div_ceil(m)), true)
        }
        _ => ((1, 1), false),
    };
    Ok(PipelineShape {
        workgroup_size: ep.workgroup_size,
        workgroup_bytes,
        registers: BASE_REGISTERS + local_words + private_words,
        tile,
        tile_declared,
    })
}

/// The value of the module-scope constant `name` (an override is one after `process_overrides`),
/// when it is a scalar integer or float literal.
fn named_u32(module: &Module, name: &str) -> Option<u32> {
    let (_, c) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))?;
    match module.global_expressions[c.init] {
        naga::Expression::Literal(l) => match l {
            naga::Literal::U32(v) => Some(v),
            naga::Literal::I32(v) => u32::try_from(v).ok(),
            naga::Literal::AbstractInt(v) => u32::try_from(v).ok(),
            naga::Literal::F32(v) => Some(v as u32),
            _ => None,
        },
        _ => None,
    }
}
