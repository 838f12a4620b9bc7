// The shared-memory family's convolution (real GPUs): implicit GEMM with workgroup-shared tiles.
// One kernel, three GEMM views chosen by MODE (a pipeline constant, so the other views compile away):
//   MODE 0, forward:        Y[m, n]  m = (b, oy, ox) over N·OH·OW, n = k,            red. (c, r, s)
//   MODE 1, input gradient: DX[m, n] m = (b, iy, ix) over N·H·W,   n = c,            red. (k, r, s)
//   MODE 2, weight grad.:   DW[m, n] m = k,                        n = (c, r, s),    red. (b, oy, ox),
//           split-K: workgroup z sums reduction indices [z·rows_per_split, …) into partial[z, k, c, r, s],
//           and `reduce` below adds the splits.
// Tiling (siboehm's SGEMM kernels 9/10): a workgroup owns a BM×BN tile of the output, each of its
// WG = (BM/TM)·(BN/TN) threads a TM×TN register tile (TM/4 × TN/4 groups of 4×4, the groups BM/TM·4
// rows / BN/TN·4 columns apart, so that neighbouring threads read neighbouring vec4s). Rust's
// `shared_tile` picks BM×BN / TM×TN: 128×64 / 8×8 and 64×128 / 8×8 (128 threads, 64 accumulators:
// 4 vec4 loads from workgroup memory per 64 FMAs), 64×64, 128×32, 32×128 with 8×4 or 4×8 (128
// threads), 32×32 / 4×4 (64 threads) for skinny and split-K GEMMs.
// Per step of BK = 8 reduction indices both operands are staged k-major (A[kl][m], B[kl][n]) in one
// of two stages of workgroup memory: the next step's global loads go to registers before this
// step's FMAs and to the other stage after them, so one barrier per step suffices.
// im2col indices are never divided in the K loop: each thread decodes its row / column once, then
// steps mixed-radix counters ((c, r, s) or (b, oy, ox)) by constants.
// Out-of-range elements are staged as zeros, so every thread reaches every barrier (the loop bounds
// depend only on uniforms and the workgroup id).

override MODE: u32 = 0u;
override KS: u32 = 3u;
override STRIDE: u32 = 1u;
override BM: u32 = 128u;
override BN: u32 = 64u;
override TM: u32 = 8u;
override TN: u32 = 8u;
override WG: u32 = 128u; // = (BM / TM) · (BN / TN)

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    k: u32, oh: u32, ow: u32, pad: u32,
    // weight gradient only: reduction indices per split and the number of splits
    rows_per_split: u32, splits: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// MODE 0: x, w, y. MODE 1: dy, w, dx. MODE 2: dy, x, partial. `reduce`: partial, (unused), dw.
// Typed by their tensors (f32, or f16 activations under mixed precision: x and y); tiles,
// accumulators and partial sums are f32.
@group(0) @binding(1) var<storage, read> src_a: array<T1>;
@group(0) @binding(2) var<storage, read> src_b: array<T2>;
@group(0) @binding(3) var<storage, read_write> dst: array<T3>;

const BK: u32 = 8u;
// Two stages of BK·(BM + BN) floats: 12 KiB at 128×64 (the most; KernelFamily::shared_fits).
// A(kl, ml) of stage st is lane ml % 4 of vec4 st·STAGE + kl·BM/4 + ((ml / 4) ^ kl), B likewise
// after A. The XOR swizzle (no padding, which would not fit 16 KiB at 128×64) spreads the k-fast
// staging writes (8 neighbouring threads, 8 rows kl, one column) over 8 vec4 banks; the inner
// loop's reads, one row kl at a time, stay conflict-free.
var<workgroup> tile: array<vec4<f32>, 768>;

fn stage_len() -> u32 { return BK * (BM + BN) / 4u; }
fn a_at(st: u32, kl: u32, v: u32) -> u32 { return st * stage_len() + kl * (BM / 4u) + (v ^ kl); }
fn b_at(st: u32, kl: u32, v: u32) -> u32 { return st * stage_len() + BK * BM / 4u + kl * (BN / 4u) + (v ^ kl); }

// Staged elements per thread and step: NA of A, NB of B (at most 8 each).
fn na() -> u32 { return BK * BM / WG; }
fn nb() -> u32 { return BK * BN / WG; }

fn dims() -> vec3<u32> { // (M, N, reduction length)
    let kk = KS * KS;
    if (MODE == 0u) { return vec3<u32>(p.n * p.oh * p.ow, p.k, p.c * kk); }
    if (MODE == 1u) { return vec3<u32>(p.n * p.h * p.w, p.c, p.k * kk); }
    return vec3<u32>(p.k, p.c * kk, p.n * p.oh * p.ow);
}

// Mixed-radix counters (hi, mid, lo) with radices (·, rad.x, rad.y): `digits` splits a step into
// digits (setup only, or on constants, which the compiler folds), `bump` adds them with carries.
fn digits(d: u32, rad: vec2<u32>) -> vec3<u32> {
    return vec3<u32>(d / (rad.x * rad.y), (d / rad.y) % rad.x, d % rad.y);
}

fn bump(v: vec3<u32>, d: vec3<u32>, rad: vec2<u32>) -> vec3<u32> {
    var lo = v.z + d.z;
    var mid = v.y + d.y;
    let c1 = lo >= rad.y;
    lo = select(lo, lo - rad.y, c1);
    mid += select(0u, 1u, c1);
    let c2 = mid >= rad.x;
    mid = select(mid, mid - rad.x, c2);
    return vec3<u32>(v.x + d.x + select(0u, 1u, c2), mid, lo);
}

// This invocation's place and loaders, set once at the start of `gemm`.
// Loader roles. m-fast (A in MODES 0, 1: neighbouring threads, neighbouring output positions):
// column t % BM, rows t / BM + (WG / BM)·j. k-fast (B always, A in MODE 2: contiguous along the
// reduction in w, dy and x): row t % BK, columns t / BK + (WG / BK)·j.
var<private> t: u32;
var<private> m0: u32;
var<private> n0: u32;
var<private> red_end: u32; // = gemm's r1 (which stays local: barriers need uniform loop bounds)
// MODES 0, 1: the m-fast column's decoded m: (batch offset, row, column) (see `fetch`), and the
// counter (c | k, r, s) of its next reduction index. MODE 1: B's counter (k, r, s).
// MODE 2: the k-fast row's counter (b, oy, ox), shared by A and B, and B's columns as
// (c·H·W, r − pad, s − pad).
var<private> abase: u32;
var<private> ay: i32;
var<private> ax: i32;
var<private> ca: vec3<u32>;
var<private> cb: vec3<u32>;
var<private> step_b: vec3<u32>; // BK in (b, oy, ox) digits (MODE 2)
var<private> bcol: array<vec3<i32>, 8>;
// The next step's elements, in flight during this step's FMAs.
var<private> ra: array<f32, 8>;
var<private> rb: array<f32, 8>;
// acc[i·TN/4 + g][l] = C[row i of this thread, column 4g + l of it].
var<private> acc: array<vec4<f32>, 16>;

// Loads the step at reduction index k0 into ra, rb (zeros outside) and steps the counters.
fn fetch(k0: u32) {
    let d = dims();
    let cs = WG / BK;
    if (MODE == 2u) {
        let red = k0 + t % BK;
        let ok = red < red_end;
        let ohw = p.oh * p.ow;
        let pos = cb.y * p.ow + cb.z;
        for (var j = 0u; j < na(); j++) {
            // A[k, (b, pos)] = dy[b, k, pos]
            let m = m0 + t / BK + cs * j;
            let i = (cb.x * p.k + m) * ohw + pos;
            ra[j] = select(0.0, f32(src_a[min(i, arrayLength(&src_a) - 1u)]), ok && m < d.x);
        }
        // B[(b, oy, ox), (c, r, s)] = x[b, c, oy·S + r − pad, ox·S + s − pad]
        let xb = cb.x * p.c * p.h * p.w;
        let iy0 = i32(cb.y * STRIDE);
        let ix0 = i32(cb.z * STRIDE);
        for (var j = 0u; j < nb(); j++) {
            let n = n0 + t / BK + cs * j;
            let iy = iy0 + bcol[j].y;
            let ix = ix0 + bcol[j].z;
            let inb = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
            let i = xb + u32(bcol[j].x) + u32(max(iy, 0)) * p.w + u32(max(ix, 0));
            rb[j] = select(0.0, f32(src_b[min(i, arrayLength(&src_b) - 1u)]), ok && n < d.y && inb);
        }
        cb = bump(cb, step_b, vec2<u32>(p.oh, p.ow));
        return;
    }
    let kr = vec2<u32>(KS, KS);
    let m_ok = m0 + t % BM < d.x;
    for (var j = 0u; j < na(); j++) {
        let red = k0 + t / BM + (WG / BM) * j;
        let ok = m_ok && red < red_end;
        var i = 0u;
        if (MODE == 0u) {
            // A[(b, oy, ox), (c, r, s)] = x[b, c, oy·S − pad + r, ox·S − pad + s]; ay, ax = oy·S − pad, ox·S − pad
            let iy = ay + i32(ca.y);
            let ix = ax + i32(ca.z);
            let inb = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
            i = select(0xffffffffu, abase + (ca.x * p.h + u32(max(iy, 0))) * p.w + u32(max(ix, 0)), ok && inb);
        } else {
            // A[(b, iy, ix), (k, r, s)] = dy[b, k, oy, ox] with oy·S + r = iy + pad (likewise x),
            // zero where no such output exists; ay, ax = iy + pad, ix + pad; STRIDE is 1 or 2.
            let ty = ay - i32(ca.y);
            let tx = ax - i32(ca.z);
            let oy = u32(max(ty, 0)) >> (STRIDE / 2u);
            let ox = u32(max(tx, 0)) >> (STRIDE / 2u);
            let hit = ty >= 0 && tx >= 0 && (u32(ty) & (STRIDE - 1u)) == 0u && (u32(tx) & (STRIDE - 1u)) == 0u
                && oy < p.oh && ox < p.ow;
            i = select(0xffffffffu, abase + (ca.x * p.oh + oy) * p.ow + ox, ok && hit);
        }
        ra[j] = select(0.0, f32(src_a[min(i, arrayLength(&src_a) - 1u)]), i != 0xffffffffu);
        ca = bump(ca, digits(WG / BM, kr), kr);
    }
    let red = k0 + t % BK;
    let kk = KS * KS;
    for (var j = 0u; j < nb(); j++) {
        let n = n0 + t / BK + cs * j;
        let ok = red < red_end && n < d.y;
        var i = 0u;
        if (MODE == 0u) {
            // B[(c, r, s), k] = w[k, c, r, s]
            i = n * d.z + red;
        } else {
            // B[(k, r, s), c] = w[k, c, r, s]
            i = (cb.x * p.c + n) * kk + cb.y * KS + cb.z;
        }
        rb[j] = select(0.0, f32(src_b[min(i, arrayLength(&src_b) - 1u)]), ok);
    }
    if (MODE == 1u) { cb = bump(cb, digits(BK, kr), kr); }
}

// Writes the fetched elements into stage st.
fn stage(st: u32) {
    for (var j = 0u; j < na(); j++) {
        var kl = t / BM + (WG / BM) * j;
        var ml = t % BM;
        if (MODE == 2u) {
            kl = t % BK;
            ml = t / BK + (WG / BK) * j;
        }
        tile[a_at(st, kl, ml >> 2u)][ml & 3u] = ra[j];
    }
    for (var j = 0u; j < nb(); j++) {
        let nl = t / BK + (WG / BK) * j;
        tile[b_at(st, t % BK, nl >> 2u)][nl & 3u] = rb[j];
    }
}

// The outer products of stage st: per row kl, TM/4 + TN/4 vec4 reads for TM·TN FMAs.
fn compute(st: u32, tm: u32, tn: u32) {
    for (var kl = 0u; kl < BK; kl++) {
        var a: array<vec4<f32>, 2>;
        var b: array<vec4<f32>, 2>;
        for (var g = 0u; g < TM / 4u; g++) { a[g] = tile[a_at(st, kl, g * (BM / TM) + tm)]; }
        for (var g = 0u; g < TN / 4u; g++) { b[g] = tile[b_at(st, kl, g * (BN / TN) + tn)]; }
        for (var gi = 0u; gi < TM / 4u; gi++) {
            for (var l = 0u; l < 4u; l++) {
                let av = vec4<f32>(a[gi][l]);
                for (var g = 0u; g < TN / 4u; g++) {
                    let q = (gi * 4u + l) * (TN / 4u) + g;
                    acc[q] = fma(av, b[g], acc[q]);
                }
            }
        }
    }
}

@compute @workgroup_size(WG)
fn gemm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let d = dims();
    t = lid;
    m0 = wg.y * BM;
    n0 = wg.x * BN;
    var r0 = 0u;
    var r1 = d.z;
    if (MODE == 2u) {
        r0 = wg.z * p.rows_per_split;
        r1 = min(r0 + p.rows_per_split, d.z);
    }
    red_end = r1;
    // Per-tile setup, the only divisions by runtime sizes.
    let kr = vec2<u32>(KS, KS);
    if (MODE == 2u) {
        cb = digits(r0 + t % BK, vec2<u32>(p.oh, p.ow));
        step_b = digits(BK, vec2<u32>(p.oh, p.ow));
        for (var j = 0u; j < nb(); j++) {
            let n = min(n0 + t / BK + (WG / BK) * j, d.y - 1u);
            let rs = n % (KS * KS);
            bcol[j] = vec3<i32>(i32((n / (KS * KS)) * p.h * p.w), i32(rs / KS) - i32(p.pad), i32(rs % KS) - i32(p.pad));
        }
    } else {
        let m = min(m0 + t % BM, d.x - 1u);
        if (MODE == 0u) {
            let ohw = p.oh * p.ow;
            let q = m % ohw;
            abase = (m / ohw) * p.c * p.h * p.w;
            ay = i32((q / p.ow) * STRIDE) - i32(p.pad);
            ax = i32((q % p.ow) * STRIDE) - i32(p.pad);
        } else {
            let hw = p.h * p.w;
            let q = m % hw;
            abase = (m / hw) * p.k * p.oh * p.ow;
            ay = i32(q / p.w + p.pad);
            ax = i32(q % p.w + p.pad);
        }
        ca = digits(t / BM, kr);
        cb = digits(t % BK, kr);
    }
    let tm = t % (BM / TM);
    let tn = t / (BM / TM);
    fetch(r0);
    stage(0u);
    workgroupBarrier();
    var st = 0u;
    for (var k0 = r0; k0 < r1; k0 += BK) {
        let more = k0 + BK < r1;
        if (more) { fetch(k0 + BK); }
        compute(st, tm, tn);
        // The other stage was last read before the previous barrier.
        if (more) { stage(1u - st); }
        workgroupBarrier();
        st = 1u - st;
    }
    // Row i of this thread: m0 + (i / 4)·(4·BM/TM) + 4·tm + i % 4; column j likewise.
    var plane = p.oh * p.ow;
    if (MODE == 1u) { plane = p.h * p.w; }
    for (var gi = 0u; gi < TM / 4u; gi++) {
        for (var l = 0u; l < 4u; l++) {
            let m = m0 + gi * (4u * BM / TM) + 4u * tm + l;
            if (m >= d.x) { continue; }
            var base = (wg.z * d.x + m) * d.y; // MODE 2: partial[z, m, n]
            var nstride = 1u;
            if (MODE != 2u) { // y / dx[b, n, pos]
                base = (m / plane) * d.y * plane + m % plane;
                nstride = plane;
            }
            for (var g = 0u; g < TN / 4u; g++) {
                let v = acc[(gi * 4u + l) * (TN / 4u) + g];
                for (var e = 0u; e < 4u; e++) {
                    let n = n0 + g * (4u * BN / TN) + 4u * tn + e;
                    if (n < d.y) { dst[base + n * nstride] = T3(v[e]); }
                }
            }
        }
    }
}

// dw[i] = Σ_z partial[z, i]: 32 outputs per workgroup, 8 threads each adding every 8th split
// (neighbouring threads read neighbouring outputs), then a 3-step tree over the 8 in workgroup
// memory. A 1-D grid of ⌈K·C·KS²/32⌉ workgroups, folded into 2-D like gpu::grid_1d.
@compute @workgroup_size(256)
fn reduce(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    _ = &src_b; // binding 2 stays in the layout (the dispatch binds the same tensors for every entry)
    let total = p.k * p.c * KS * KS;
    let o = (wg.x + wg.y * nwg.x) * 32u + lid % 32u;
    let lane = lid / 32u;
    var s = 0.0;
    if (o < total) {
        for (var z = lane; z < p.splits; z += 8u) { s += f32(src_a[z * total + o]); }
    }
    wg_red[lid].x = s;
    workgroupBarrier();
    for (var h = 4u; h > 0u; h >>= 1u) {
        if (lane < h) { wg_red[lid].x += wg_red[lid + 32u * h].x; }
        workgroupBarrier();
    }
    if (lane == 0u && o < total) { dst[o] = T3(wg_red[lid].x); }
}
