// Strided matrix product for the linear layer: C[m, n] = Σ_k A[m, k] · B[k, n] (+ bias[n]).
// A and B are addressed through strides so one kernel serves y = x·Wᵀ (forward), dX = dY·W and
// dW = dYᵀ·X without transposing anything in memory.
// Shapes: A (M, K) at a[m·sam + k·sak]; B (K, N) at b[k·sbk + n·sbn]; C (M, N) row-major.
// Each thread owns a 4×4 tile of C (register blocking, no shared memory). Overwrites C.

struct Params {
    m: u32, n: u32, k: u32, has_bias: u32,
    sam: u32, sak: u32, sbk: u32, sbn: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

// Grid: x = column blocks of 4 (n), y = row blocks of 4 (m).
@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n0 = gid.x * 4u;
    let m0 = gid.y * 4u;
    if (n0 >= p.n || m0 >= p.m) { return; }
    var ai: vec4<u32>;
    var bi: vec4<u32>;
    for (var t = 0u; t < 4u; t++) {
        ai[t] = min(m0 + t, p.m - 1u) * p.sam;
        bi[t] = min(n0 + t, p.n - 1u) * p.sbn;
    }
    var acc: array<vec4<f32>, 4>; // acc[i][j]: row m0 + i, column n0 + j
    for (var kk = 0u; kk < p.k; kk++) {
        let ao = kk * p.sak;
        let bo = kk * p.sbk;
        let bv = vec4<f32>(b[bi.x + bo], b[bi.y + bo], b[bi.z + bo], b[bi.w + bo]);
        acc[0] = fma(vec4<f32>(a[ai.x + ao]), bv, acc[0]);
        acc[1] = fma(vec4<f32>(a[ai.y + ao]), bv, acc[1]);
        acc[2] = fma(vec4<f32>(a[ai.z + ao]), bv, acc[2]);
        acc[3] = fma(vec4<f32>(a[ai.w + ao]), bv, acc[3]);
    }
    var bvec = vec4<f32>(0.0);
    if (p.has_bias != 0u) {
        for (var j = 0u; j < 4u; j++) { bvec[j] = bias[min(n0 + j, p.n - 1u)]; }
    }
    for (var i = 0u; i < 4u; i++) {
        if (m0 + i >= p.m) { break; }
        for (var j = 0u; j < 4u; j++) {
            if (n0 + j < p.n) { c[(m0 + i) * p.n + n0 + j] = acc[i][j] + bvec[j]; }
        }
    }
}

// db[n] = Σ_m dy[m, n] (bias gradient; overwrites db). dy is (M, N) row-major.
@compute @workgroup_size(64)
fn bias_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= p.n) { return; }
    var s = 0.0;
    for (var i = 0u; i < p.m; i++) { s += dy[i * p.n + j]; }
    db[j] = s;
}
