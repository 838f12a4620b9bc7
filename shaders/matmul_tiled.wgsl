// The register-tiled family's matmul, C = A·B (+ bias), layout as in matmul_generic.wgsl. Used
// when M, N and K are multiples of 4 and each operand is contiguous along one of its dimensions:
// every load is a vec4 (4 consecutive floats) and each thread owns an 8×8 tile of C
// held as four 4×4 matrices in registers (256 FMAs per 16 vec4 loads, no shared memory).
// TA = 0: A[m, k] at m·K + k (row-major); TA = 1: at k·M + m (A stored transposed).
// TB = 0: B[k, n] at k·N + n (row-major); TB = 1: at n·K + k (B stored transposed, e.g. x·Wᵀ).
struct Params {
    m: u32, n: u32, k: u32, has_bias: u32,
    sam: u32, sak: u32, sbk: u32, sbn: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

override TA: u32 = 0u;
override TB: u32 = 0u;

@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4<f32>>;

// The 4×4 block A[m0.., k0..] as a matrix whose column t is A[m0..m0+3, k0+t].
fn load_a(m0: u32, k0: u32) -> mat4x4<f32> {
    if (TA != 0u) {
        let q = p.m / 4u;
        let i = k0 * q + min(m0, p.m - 4u) / 4u;
        return mat4x4<f32>(a4[i], a4[i + q], a4[i + 2u * q], a4[i + 3u * q]);
    }
    let q = p.k / 4u;
    let i = min(m0, p.m - 4u) * q + k0 / 4u;
    return transpose(mat4x4<f32>(a4[i], a4[i + q], a4[i + 2u * q], a4[i + 3u * q]));
}

// The 4×4 block B[k0.., n0..] as a matrix whose column j is B[k0..k0+3, n0+j].
fn load_b(k0: u32, n0: u32) -> mat4x4<f32> {
    if (TB != 0u) {
        let q = p.k / 4u;
        let i = min(n0, p.n - 4u) * q + k0 / 4u;
        return mat4x4<f32>(b4[i], b4[i + q], b4[i + 2u * q], b4[i + 3u * q]);
    }
    let q = p.n / 4u;
    let i = k0 * q + min(n0, p.n - 4u) / 4u;
    return transpose(mat4x4<f32>(b4[i], b4[i + q], b4[i + 2u * q], b4[i + 3u * q]));
}

// Writes the 4×4 block (column j = C[m0.., n0+j]) as four row vec4s, plus bias.
fn store_c(m0: u32, n0: u32, blk: mat4x4<f32>) {
    if (m0 >= p.m || n0 >= p.n) { return; }
    var bv = vec4<f32>(0.0);
    if (p.has_bias != 0u) { bv = bias4[n0 / 4u]; }
    let t = transpose(blk);
    let q = p.n / 4u;
    let i = m0 * q + n0 / 4u;
    c4[i] = t[0] + bv;
    c4[i + q] = t[1] + bv;
    c4[i + 2u * q] = t[2] + bv;
    c4[i + 3u * q] = t[3] + bv;
}

// Grid: x = column blocks of 8 (n), y = row blocks of 8 (m).
@compute @workgroup_size(8, 8, 1)
fn matmul4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n0 = gid.x * 8u;
    let m0 = gid.y * 8u;
    if (n0 >= p.n || m0 >= p.m) { return; }
    var c00 = mat4x4<f32>(); var c01 = mat4x4<f32>();
    var c10 = mat4x4<f32>(); var c11 = mat4x4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let a0 = load_a(m0, k0);
        let a1 = load_a(m0 + 4u, k0);
        let b0 = load_b(k0, n0);
        let b1 = load_b(k0, n0 + 4u);
        c00 += a0 * b0;
        c01 += a0 * b1;
        c10 += a1 * b0;
        c11 += a1 * b1;
    }
    store_c(m0, n0, c00);
    store_c(m0, n0 + 4u, c01);
    store_c(m0 + 4u, n0, c10);
    store_c(m0 + 4u, n0 + 4u, c11);
}
