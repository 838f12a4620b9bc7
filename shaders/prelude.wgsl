// Prepended to every kernel file by src/shaders.rs (after `const WG_1D`, the 1-D kernels' workgroup
// size, written from the Rust constant gpu::WG_1D so both sides always agree).

// The flat index of a 1-D grid folded into 2-D when it has over 65 535 workgroups (gpu::grid_1d).
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG_1D; }

// NaN fails every comparison; ±inf exceeds the largest finite f32.
fn is_finite(x: f32) -> bool { return abs(x) <= 0x1.fffffep+127f; }

// Tree reductions across the `n` threads of a workgroup (n a power of two, at most 256; `lid` the
// local index). Every thread gets the result. Call in uniform control flow (they hold barriers).
var<workgroup> wg_red: array<vec4<f32>, 256>;

fn wg_sum(lid: u32, n: u32, v: vec4<f32>) -> vec4<f32> {
    wg_red[lid] = v;
    workgroupBarrier();
    for (var s = n / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { wg_red[lid] += wg_red[lid + s]; }
        workgroupBarrier();
    }
    let r = wg_red[0];
    workgroupBarrier();
    return r;
}

fn wg_max(lid: u32, n: u32, v: vec4<f32>) -> vec4<f32> {
    wg_red[lid] = v;
    workgroupBarrier();
    for (var s = n / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { wg_red[lid] = max(wg_red[lid], wg_red[lid + s]); }
        workgroupBarrier();
    }
    let r = wg_red[0];
    workgroupBarrier();
    return r;
}
