// Prepended to every kernel file by src/shaders.rs (after `const WG_1D`, the 1-D kernels' workgroup
// size, written from the Rust constant gpu::WG_1D so both sides always agree).

// The flat index of a 1-D grid folded into 2-D when it has over 65 535 workgroups (gpu::grid_1d).
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG_1D; }

// NaN fails every comparison; ±inf exceeds the largest finite f32.
fn is_finite(x: f32) -> bool { return abs(x) <= 0x1.fffffep+127f; }
