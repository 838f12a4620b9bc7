// The shared-memory family's matmul (real GPUs): C (M, N) = A·B (+ bias), any strides, layout as
// in matmul_generic.wgsl: A[m, k] at a[m·sam + k·sak], B[k, n] at b[k·sbk + n·sbn], C row-major.
// A workgroup owns a BM×BN tile of C (BM·BN = 4096: 64×64, or 128×32 / 32×128 when one side is
// narrow), 256 threads with a 4×4 block each; per step of 16 k it stages a 16×BM slice of A and a
// 16×BN slice of B in workgroup memory (8.5–10.5 KiB) and reads them back as vec4s; the next step's
// loads are in flight during this step's FMAs.
// AKF / BKF (pipeline constants): the operand is contiguous along k, so neighbouring threads
// stage neighbouring k (else neighbouring m / n). Out-of-range elements are staged as zeros, so
// every thread reaches every barrier.

struct Params {
    m: u32, n: u32, k: u32, has_bias: u32,
    sam: u32, sak: u32, sbk: u32, sbn: u32,
}

override AKF: u32 = 1u;
override BKF: u32 = 0u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const BK: u32 = 16u;
// The tile's width in columns of C: 32, 64 or 128; BM = 4096 / BN rows.
override BN: u32 = 64u;
// A's slice then B's, each row padded by one vec4 (so the k-fast staging, whose neighbouring
// threads write neighbouring rows, spreads over the banks): tile[kl·SA + ml/4][ml % 4] =
// A[m0 + ml, k0 + kl] and tile[16·SA + kl·SB + nl/4][nl % 4] = B[k0 + kl, n0 + nl], with
// SA = BM/4 + 1, SB = BN/4 + 1. At most 16·42 vec4s = 10.5 KiB.
var<workgroup> tile: array<vec4<f32>, 672>;

fn bm() -> u32 { return 4096u / BN; }
fn sa() -> u32 { return bm() / 4u + 1u; }
fn sb() -> u32 { return BN / 4u + 1u; }

// The staging slot (row kl of 16, column of `width`) of thread t's j-th element (j < width / 16).
fn slot(kfast: u32, width: u32, t: u32, j: u32) -> vec2<u32> {
    if (kfast != 0u) { return vec2<u32>(t % BK, t / BK + 16u * j); }
    return vec2<u32>(t / width + (256u / width) * j, t % width);
}

// The BM/16 elements of A and BN/16 of B thread t stages for the step at k0 (zeros outside).
struct Staged { a: array<f32, 8>, b: array<f32, 8> }

fn fetch(t: u32, m0: u32, n0: u32, k0: u32) -> Staged {
    var out: Staged;
    for (var j = 0u; j < bm() / 16u; j++) {
        let sl = slot(AKF, bm(), t, j);
        let am = m0 + sl.y;
        let ak = k0 + sl.x;
        out.a[j] = select(0.0, a[min(am, p.m - 1u) * p.sam + min(ak, p.k - 1u) * p.sak], am < p.m && ak < p.k);
    }
    for (var j = 0u; j < BN / 16u; j++) {
        let sl = slot(BKF, BN, t, j);
        let bn = n0 + sl.y;
        let bk = k0 + sl.x;
        out.b[j] = select(0.0, b[min(bk, p.k - 1u) * p.sbk + min(bn, p.n - 1u) * p.sbn], bn < p.n && bk < p.k);
    }
    return out;
}

fn stage(t: u32, v: Staged) {
    for (var j = 0u; j < bm() / 16u; j++) {
        let sl = slot(AKF, bm(), t, j);
        tile[sl.x * sa() + sl.y / 4u][sl.y % 4u] = v.a[j];
    }
    for (var j = 0u; j < BN / 16u; j++) {
        let sl = slot(BKF, BN, t, j);
        tile[16u * sa() + sl.x * sb() + sl.y / 4u][sl.y % 4u] = v.b[j];
    }
}

@compute @workgroup_size(256)
fn matmul(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let m0 = wg.y * bm();
    let n0 = wg.x * BN;
    let tx = t % (bm() / 4u);
    let ty = t / (bm() / 4u);
    var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
    // Software pipelining: the next step's global loads are issued before this step's FMAs.
    var next = fetch(t, m0, n0, 0u);
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        stage(t, next);
        workgroupBarrier();
        if (k0 + BK < p.k) { next = fetch(t, m0, n0, k0 + BK); }
        for (var kl = 0u; kl < BK; kl++) {
            let av = tile[kl * sa() + tx];
            let bv = tile[16u * sa() + kl * sb() + ty];
            acc0 = fma(av, vec4<f32>(bv.x), acc0);
            acc1 = fma(av, vec4<f32>(bv.y), acc1);
            acc2 = fma(av, vec4<f32>(bv.z), acc2);
            acc3 = fma(av, vec4<f32>(bv.w), acc3);
        }
        workgroupBarrier();
    }
    // acc_j[i] = C[m0 + 4·tx + i, n0 + 4·ty + j]
    let mo = m0 + 4u * tx;
    let no = n0 + 4u * ty;
    var bv = vec4<f32>(0.0);
    if (p.has_bias != 0u) {
        bv = vec4<f32>(bias[min(no, p.n - 1u)], bias[min(no + 1u, p.n - 1u)], bias[min(no + 2u, p.n - 1u)], bias[min(no + 3u, p.n - 1u)]);
    }
    for (var i = 0u; i < 4u; i++) {
        let m = mo + i;
        if (m >= p.m) { break; }
        let row = m * p.n;
        if (no < p.n) { c[row + no] = acc0[i] + bv.x; }
        if (no + 1u < p.n) { c[row + no + 1u] = acc1[i] + bv.y; }
        if (no + 2u < p.n) { c[row + no + 2u] = acc2[i] + bv.z; }
        if (no + 3u < p.n) { c[row + no + 3u] = acc3[i] + bv.w; }
    }
}
