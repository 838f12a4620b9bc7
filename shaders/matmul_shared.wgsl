// The shared-memory family's matmul (real GPUs): C (M, N) = A·B (+ bias), any strides, layout as
// in matmul_generic.wgsl: A[m, k] at a[m·sam + k·sak], B[k, n] at b[k·sbk + n·sbn], C row-major.
// The tiling of conv2d_shared.wgsl (see there): a BM×BN tile per workgroup, a TM×TN register tile
// per thread (picked by Rust's `shared_tile`), BK = 8 k per step staged k-major in one of two
// workgroup-memory stages (XOR-swizzled), the next step's loads in flight during this step's FMAs,
// one barrier per step.
// AKF / BKF (pipeline constants): the operand is contiguous along k, so neighbouring threads
// stage neighbouring k (else neighbouring m / n). Out-of-range elements are staged as zeros, so
// every thread reaches every barrier.

struct Params {
    m: u32, n: u32, k: u32, has_bias: u32,
    sam: u32, sak: u32, sbk: u32, sbn: u32,
}

override AKF: u32 = 1u;
override BKF: u32 = 0u;
override BM: u32 = 128u;
override BN: u32 = 64u;
override TM: u32 = 8u;
override TN: u32 = 8u;
override WG: u32 = 128u; // = (BM / TM) · (BN / TN)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const BK: u32 = 8u;
// Two stages of BK·(BM + BN) floats (12 KiB at most), layout and swizzle as in conv2d_shared.wgsl.
var<workgroup> tile: array<vec4<f32>, 768>;

fn stage_len() -> u32 { return BK * (BM + BN) / 4u; }
fn a_at(st: u32, kl: u32, v: u32) -> u32 { return st * stage_len() + kl * (BM / 4u) + (v ^ kl); }
fn b_at(st: u32, kl: u32, v: u32) -> u32 { return st * stage_len() + BK * BM / 4u + kl * (BN / 4u) + (v ^ kl); }

// The staging slot (row kl, column) of thread t's j-th element of an operand `width` wide
// (j < BK·width / WG): k-fast row t % BK, columns t / BK + (WG / BK)·j; else column t % width,
// rows t / width + (WG / width)·j.
fn slot(kfast: u32, width: u32, t: u32, j: u32) -> vec2<u32> {
    if (kfast != 0u) { return vec2<u32>(t % BK, t / BK + (WG / BK) * j); }
    return vec2<u32>(t / width + (WG / width) * j, t % width);
}

var<private> ra: array<f32, 8>;
var<private> rb: array<f32, 8>;
// acc[i·TN/4 + g][l] = C[row i of this thread, column 4g + l of it].
var<private> acc: array<vec4<f32>, 16>;

// Loads the step at k0 into ra, rb (zeros outside): no division, the addresses are affine.
fn fetch(t: u32, m0: u32, n0: u32, k0: u32) {
    for (var j = 0u; j < BK * BM / WG; j++) {
        let sl = slot(AKF, BM, t, j);
        let am = m0 + sl.y;
        let ak = k0 + sl.x;
        ra[j] = select(0.0, a[min(am, p.m - 1u) * p.sam + min(ak, p.k - 1u) * p.sak], am < p.m && ak < p.k);
    }
    for (var j = 0u; j < BK * BN / WG; j++) {
        let sl = slot(BKF, BN, t, j);
        let bn = n0 + sl.y;
        let bk = k0 + sl.x;
        rb[j] = select(0.0, b[min(bk, p.k - 1u) * p.sbk + min(bn, p.n - 1u) * p.sbn], bn < p.n && bk < p.k);
    }
}

fn stage(t: u32, st: u32) {
    for (var j = 0u; j < BK * BM / WG; j++) {
        let sl = slot(AKF, BM, t, j);
        tile[a_at(st, sl.x, sl.y >> 2u)][sl.y & 3u] = ra[j];
    }
    for (var j = 0u; j < BK * BN / WG; j++) {
        let sl = slot(BKF, BN, t, j);
        tile[b_at(st, sl.x, sl.y >> 2u)][sl.y & 3u] = rb[j];
    }
}

fn compute(st: u32, tm: u32, tn: u32) {
    for (var kl = 0u; kl < BK; kl++) {
        var av: array<vec4<f32>, 2>;
        var bv: array<vec4<f32>, 2>;
        for (var g = 0u; g < TM / 4u; g++) { av[g] = tile[a_at(st, kl, g * (BM / TM) + tm)]; }
        for (var g = 0u; g < TN / 4u; g++) { bv[g] = tile[b_at(st, kl, g * (BN / TN) + tn)]; }
        for (var gi = 0u; gi < TM / 4u; gi++) {
            for (var l = 0u; l < 4u; l++) {
                let x = vec4<f32>(av[gi][l]);
                for (var g = 0u; g < TN / 4u; g++) {
                    let q = (gi * 4u + l) * (TN / 4u) + g;
                    acc[q] = fma(x, bv[g], acc[q]);
                }
            }
        }
    }
}

@compute @workgroup_size(WG)
fn matmul(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let m0 = wg.y * BM;
    let n0 = wg.x * BN;
    let tm = t % (BM / TM);
    let tn = t / (BM / TM);
    fetch(t, m0, n0, 0u);
    stage(t, 0u);
    workgroupBarrier();
    var st = 0u;
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        let more = k0 + BK < p.k;
        if (more) { fetch(t, m0, n0, k0 + BK); }
        compute(st, tm, tn);
        // The other stage was last read before the previous barrier.
        if (more) { stage(t, 1u - st); }
        workgroupBarrier();
        st = 1u - st;
    }
    // Row i of this thread: m0 + (i / 4)·(4·BM/TM) + 4·tm + i % 4; column j likewise.
    for (var gi = 0u; gi < TM / 4u; gi++) {
        for (var l = 0u; l < 4u; l++) {
            let m = m0 + gi * (4u * BM / TM) + 4u * tm + l;
            if (m >= p.m) { continue; }
            for (var g = 0u; g < TN / 4u; g++) {
                let v = acc[(gi * 4u + l) * (TN / 4u) + g];
                for (var e = 0u; e < 4u; e++) {
                    let n = n0 + g * (4u * BN / TN) + 4u * tn + e;
                    if (n < p.n) {
                        var bv = 0.0;
                        if (p.has_bias != 0u) { bv = bias[n]; }
                        c[m * p.n + n] = v[e] + bv;
                    }
                }
            }
        }
    }
}
