// The workgroup reductions of the prelude where subgroup operations are off or absent (src/shaders.rs
// appends this or prelude_reduce_subgroups.wgsl; both define wg_sum and wg_max).
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
