// wg_sum and wg_max of prelude_reduce.wgsl, with subgroup operations: for the kernel variants built
// when the device has subgroups (src/shaders.rs). Same contract: `n` threads (a power of two ≤ 256,
// the whole workgroup), every thread gets the result, uniform control flow only.
// WGSL defines no relation between subgroups and local_invocation_index, and subgroups may be
// partial, so nothing here assumes either: each subgroup reduces its own values, the first active
// invocation of each subgroup writes that partial into its own slot (the others write the identity),
// then every subgroup reduces all n slots, each active invocation summing every cnt-th slot.
// Correct for any subgroup size (lavapipe 8, NVIDIA 32, AMD 64) and any layout; two barriers
// instead of log2(n) + 1.
var<workgroup> wg_red: array<vec4<f32>, 256>;

fn wg_sum(lid: u32, n: u32, v: vec4<f32>) -> vec4<f32> {
    let s = subgroupAdd(v);
    let rank = subgroupExclusiveAdd(1u); // among the subgroup's active invocations
    let cnt = subgroupAdd(1u);
    wg_red[lid] = select(vec4<f32>(0.0), s, rank == 0u);
    workgroupBarrier();
    var t = vec4<f32>(0.0);
    for (var j = rank; j < n; j += cnt) { t += wg_red[j]; }
    let r = subgroupAdd(t);
    workgroupBarrier();
    return r;
}

fn wg_max(lid: u32, n: u32, v: vec4<f32>) -> vec4<f32> {
    let s = subgroupMax(v);
    let rank = subgroupExclusiveAdd(1u); // among the subgroup's active invocations
    let cnt = subgroupAdd(1u);
    wg_red[lid] = select(vec4<f32>(-3.4e38), s, rank == 0u);
    workgroupBarrier();
    var t = vec4<f32>(-3.4e38);
    for (var j = rank; j < n; j += cnt) { t = max(t, wg_red[j]); }
    let r = subgroupMax(t);
    workgroupBarrier();
    return r;
}
