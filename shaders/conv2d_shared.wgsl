// The shared-memory family's convolution (real GPUs): implicit GEMM with workgroup-shared tiles.
// One kernel, three GEMM views chosen by MODE (a pipeline constant, so the other views compile away):
//   MODE 0, forward:        Y[m, n]  m = (b, oy, ox) over N·OH·OW, n = k,            red. (c, r, s)
//   MODE 1, input gradient: DX[m, n] m = (b, iy, ix) over N·H·W,   n = c,            red. (k, r, s)
//   MODE 2, weight grad.:   DW[m, n] m = k,                        n = (c, r, s),    red. (b, oy, ox),
//           split-K: workgroup z sums reduction indices [z·rows_per_split, …) into partial[z, k, c, r, s]
//           (conv2d_generic.wgsl's backward_weight_reduce adds the splits).
// A workgroup owns a BM×BN tile of the GEMM output (BM·BN = 4096: 64×64, or 128×32 / 32×128 when
// one side of the GEMM is narrow, so few lanes idle), 256 threads with a 4×4 block each; per step
// of 16 reduction indices it stages a 16×BM slice of A and a 16×BN slice of B in workgroup memory
// (8.5–10.5 KiB), and reads them back as vec4s; the next step's loads are in flight during this
// step's FMAs.
// Out-of-range elements are staged as zeros, so every thread reaches every barrier (the loop
// bounds depend only on uniforms and the workgroup id).

override MODE: u32 = 0u;
override KS: u32 = 3u;
override STRIDE: u32 = 1u;

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    k: u32, oh: u32, ow: u32, pad: u32,
    // weight gradient only: reduction indices per split and the number of splits
    rows_per_split: u32, splits: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// MODE 0: x, w, y. MODE 1: dy, w, dx. MODE 2: dy, x, partial.
@group(0) @binding(1) var<storage, read> src_a: array<f32>;
@group(0) @binding(2) var<storage, read> src_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const BK: u32 = 16u;
// The tile's width in GEMM columns: 32, 64 or 128; BM = 4096 / BN rows.
override BN: u32 = 64u;
// A's slice then B's, each row padded by one vec4 (so the k-fast staging, whose neighbouring
// threads write neighbouring rows, spreads over the banks): tile[kl·SA + ml/4][ml % 4] =
// A[m0 + ml, k0 + kl] and tile[16·SA + kl·SB + nl/4][nl % 4] = B[k0 + kl, n0 + nl], with
// SA = BM/4 + 1, SB = BN/4 + 1. At most 16·42 vec4s = 10.5 KiB.
var<workgroup> tile: array<vec4<f32>, 672>;

fn bm() -> u32 { return 4096u / BN; }
fn sa() -> u32 { return bm() / 4u + 1u; }
fn sb() -> u32 { return BN / 4u + 1u; }

fn dims() -> vec3<u32> { // (M, N, reduction length)
    let kk = KS * KS;
    if (MODE == 0u) { return vec3<u32>(p.n * p.oh * p.ow, p.k, p.c * kk); }
    if (MODE == 1u) { return vec3<u32>(p.n * p.h * p.w, p.c, p.k * kk); }
    return vec3<u32>(p.k, p.c * kk, p.n * p.oh * p.ow);
}

// x[b, c, iy, ix] with zero padding; `base` = b·C·H·W.
fn xat(base: u32, c: u32, iy: i32, ix: i32) -> f32 {
    let ok = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
    let i = base + (c * p.h + u32(max(iy, 0))) * p.w + u32(max(ix, 0));
    return select(0.0, src_a[min(i, arrayLength(&src_a) - 1u)], ok);
}

// A for MODES 0 and 1 (staged m-fast: a thread keeps one m, decoded once as `mb`).
// MODE 0: mb = (b·C·H·W, oy·S − pad, ox·S − pad); A[m, (c, r, s)] = x[b, c, iy0 + r, ix0 + s].
// MODE 1: mb = (b·K·OH·OW, iy + pad, ix + pad); A[m, (k, r, s)] = dy[b, k, oy, ox] where
//         oy·S + r = iy + pad (same for x), zero when no such output position exists.
fn a_rows(m: u32) -> vec3<i32> {
    if (MODE == 0u) {
        let ohw = p.oh * p.ow;
        let b = m / ohw;
        let q = m % ohw;
        return vec3<i32>(i32(b * p.c * p.h * p.w), i32((q / p.ow) * STRIDE) - i32(p.pad), i32((q % p.ow) * STRIDE) - i32(p.pad));
    }
    let hw = p.h * p.w;
    let b = m / hw;
    let q = m % hw;
    return vec3<i32>(i32(b * p.k * p.oh * p.ow), i32(q / p.w + p.pad), i32(q % p.w + p.pad));
}

fn a_mfast(mb: vec3<i32>, red: u32) -> f32 {
    let kk = KS * KS;
    let ch = red / kk;
    let r = i32((red % kk) / KS);
    let s = i32(red % KS);
    if (MODE == 0u) { return xat(u32(mb.x), ch, mb.y + r, mb.z + s); }
    let ty = mb.y - r;
    let tx = mb.z - s;
    let oy = u32(max(ty, 0)) / STRIDE;
    let ox = u32(max(tx, 0)) / STRIDE;
    let ok = ty >= 0 && tx >= 0 && u32(ty) % STRIDE == 0u && u32(tx) % STRIDE == 0u && oy < p.oh && ox < p.ow;
    let i = u32(mb.x) + (ch * p.oh + oy) * p.ow + ox;
    return select(0.0, src_a[min(i, arrayLength(&src_a) - 1u)], ok);
}

// B for MODES 0 and 1: the weights. MODE 0: B[(c, r, s), k] = w[k, c, r, s];
// MODE 1: B[(k, r, s), c] = w[k, c, r, s].
fn b_w(red: u32, n: u32) -> f32 {
    let kk = KS * KS;
    if (MODE == 0u) { return src_b[n * p.c * kk + red]; }
    return src_b[((red / kk) * p.c + n) * kk + red % kk];
}

// The output element (m, n): MODE 0 y[b, n, pos], MODE 1 dx[b, n, pos], MODE 2 partial[z, m, n].
fn store(m: u32, n: u32, z: u32, v: f32) {
    let d = dims();
    if (m >= d.x || n >= d.y) { return; }
    if (MODE == 2u) {
        dst[(z * d.x + m) * d.y + n] = v;
        return;
    }
    var plane = p.oh * p.ow;
    if (MODE == 1u) { plane = p.h * p.w; }
    dst[((m / plane) * d.y + n) * plane + m % plane] = v;
}

// This invocation's place, set once at the start of `gemm`.
var<private> t: u32;
var<private> m0: u32;
var<private> n0: u32;
var<private> red_end: u32; // = gemm's r1 (which stays local: barriers need uniform loop bounds)
var<private> mb: vec3<i32>;

// The BM/16 elements of A and BN/16 of B this thread stages for the step at reduction index k0.
// Staging roles. m-fast (A in MODES 0, 1): column t % BM, rows t / BM + (256 / BM)·j. k-fast (B
// always, A in MODE 2): row t % 16, columns t / 16 + 16j, so neighbouring threads read neighbouring
// reduction indices (contiguous in w, dy and x).
struct Staged { a: array<f32, 8>, b: array<f32, 8> }

fn a_slot(j: u32) -> vec2<u32> { // (row kl, column ml)
    if (MODE == 2u) { return vec2<u32>(t % BK, t / BK + 16u * j); }
    return vec2<u32>(t / bm() + (256u / bm()) * j, t % bm());
}

fn fetch(k0: u32) -> Staged {
    let d = dims();
    let kf = t % BK;
    let cf = t / BK;
    let red = k0 + kf;
    var out: Staged;
    for (var j = 0u; j < bm() / 16u; j++) {
        let sl = a_slot(j);
        if (MODE == 2u) {
            // A[k, (b, pos)] = dy[b, k, pos]
            let ohw = p.oh * p.ow;
            let amk = m0 + sl.y;
            if (red < red_end && amk < d.x) { out.a[j] = src_a[((red / ohw) * p.k + amk) * ohw + red % ohw]; }
        } else {
            if (m0 + sl.y < d.x && k0 + sl.x < red_end) { out.a[j] = a_mfast(mb, k0 + sl.x); }
        }
    }
    for (var j = 0u; j < BN / 16u; j++) {
        let bn = n0 + cf + 16u * j;
        if (red >= red_end || bn >= d.y) { continue; }
        if (MODE == 2u) {
            // B[(b, pos), (c, r, s)] = x[b, c, pos·S + (r, s) − pad]
            let ohw = p.oh * p.ow;
            let b = red / ohw;
            let q = red % ohw;
            let kk = KS * KS;
            let ch = bn / kk;
            let r = i32((bn % kk) / KS);
            let s = i32(bn % KS);
            let iy = i32((q / p.ow) * STRIDE) - i32(p.pad) + r;
            let ix = i32((q % p.ow) * STRIDE) - i32(p.pad) + s;
            let ok = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
            let i = ((b * p.c + ch) * p.h + u32(max(iy, 0))) * p.w + u32(max(ix, 0));
            out.b[j] = select(0.0, src_b[min(i, arrayLength(&src_b) - 1u)], ok);
        } else {
            out.b[j] = b_w(red, bn);
        }
    }
    return out;
}

fn stage(v: Staged) {
    for (var j = 0u; j < bm() / 16u; j++) {
        let sl = a_slot(j);
        tile[sl.x * sa() + sl.y / 4u][sl.y % 4u] = v.a[j];
    }
    for (var j = 0u; j < BN / 16u; j++) {
        let nl = t / BK + 16u * j;
        tile[16u * sa() + (t % BK) * sb() + nl / 4u][nl % 4u] = v.b[j];
    }
}

@compute @workgroup_size(256)
fn gemm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let d = dims();
    t = lid;
    m0 = wg.y * bm();
    n0 = wg.x * BN;
    var r0 = 0u;
    var r1 = d.z;
    if (MODE == 2u) {
        r0 = wg.z * p.rows_per_split;
        r1 = min(r0 + p.rows_per_split, d.z);
    }
    red_end = r1;
    mb = a_rows(min(m0 + t % bm(), d.x - 1u));
    let tx = t % (bm() / 4u);
    let ty = t / (bm() / 4u);
    var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
    // Software pipelining: the next step's global loads are issued before this step's FMAs.
    var next = fetch(r0);
    for (var k0 = r0; k0 < r1; k0 += BK) {
        stage(next);
        workgroupBarrier();
        if (k0 + BK < r1) { next = fetch(k0 + BK); }
        for (var kl = 0u; kl < BK; kl++) {
            let a = tile[kl * sa() + tx];
            let b = tile[16u * sa() + kl * sb() + ty];
            acc0 = fma(a, vec4<f32>(b.x), acc0);
            acc1 = fma(a, vec4<f32>(b.y), acc1);
            acc2 = fma(a, vec4<f32>(b.z), acc2);
            acc3 = fma(a, vec4<f32>(b.w), acc3);
        }
        workgroupBarrier();
    }
    // acc_j[i] = C[m0 + 4·tx + i, n0 + 4·ty + j]
    let mo = m0 + 4u * tx;
    let no = n0 + 4u * ty;
    for (var i = 0u; i < 4u; i++) {
        store(mo + i, no, wg.z, acc0[i]);
        store(mo + i, no + 1u, wg.z, acc1[i]);
        store(mo + i, no + 2u, wg.z, acc2[i]);
        store(mo + i, no + 3u, wg.z, acc3[i]);
    }
}
