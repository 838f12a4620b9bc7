// The register-tiled family's 3×3 stride-1 convolution (lavapipe's fast path): forward, and the
// input gradient as a "transposed" convolution (flipped, transposed weights, padding 2 − pad), and
// the weight gradient's partial sums (reduced by conv2d_generic.wgsl's backward_weight_reduce).
// No shared memory: lavapipe pays dearly for barriers.
// Activations (xin, yout, gy, gx) are typed by their tensors (f32, or f16 under mixed precision);
// weights, accumulators and partial sums are f32.

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    k: u32, oh: u32, ow: u32, pad: u32,
    // weight gradient only: rows (n, oy) per split and the number of splits
    rows_per_split: u32, splits: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Only the weight repack reads KS (1 or 3 for the generic kernels' layout).
override KS: u32 = 3u;

// Weights are first repacked to wr[(c·9 + tap)·K4 + k] (K4 = K rounded up to 4, zero filled) so one
// vec4 load fetches a tap of 4 output channels. Each thread owns a 4 (rows) × 4 (columns) × 4
// (channels) output tile: per input channel it loads 36 inputs and 9 weight vec4s and does 576 FMAs.
// Everything is unrolled into named registers (no dynamically indexed private arrays: on CPU
// Vulkan those spill to memory); on GPUs the 64 accumulators fit in registers.

@group(0) @binding(1) var<storage, read> w_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> w_packed: array<f32>;

// Repack: FLIP = 0: wr[(c·KK + t)·K4 + k] = w[k, c, t]; FLIP = 1 (input gradient: channels swap,
// taps flip): wr[(k·KK + t)·C4 + c] = w[k, c, KK − 1 − t]. 1-D grid over the packed size.
override FLIP: u32 = 0u;

@compute @workgroup_size(WG_1D)
fn repack_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let kk = KS * KS;
    // the packed "input" channel count and "output" channel count
    var cin = p.c;
    var cout = p.k;
    if (FLIP != 0u) { cin = p.k; cout = p.c; }
    let cout4 = (cout + 3u) / 4u * 4u;
    if (i >= cin * kk * cout4) { return; }
    let o = i % cout4;
    let t = (i / cout4) % kk;
    let ci = i / (cout4 * kk);
    var v = 0.0;
    if (o < cout) {
        if (FLIP == 0u) {
            v = w_src[(o * p.c + ci) * kk + t];
        } else {
            v = w_src[(ci * p.c + o) * kk + (kk - 1u - t)];
        }
    }
    w_packed[i] = v;
}

@group(0) @binding(1) var<storage, read> xin: array<T1>;
@group(0) @binding(2) var<storage, read> wpk: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> yout: array<T3>;

struct Row6 { v0: f32, v1: f32, v2: f32, v3: f32, v4: f32, v5: f32 }
struct Acc4 { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32> }

fn ld(rb: u32, ix: i32, ok: bool) -> f32 {
    let inb = ok && ix >= 0 && ix < i32(p.w);
    return select(0.0, f32(xin[rb + u32(clamp(ix, 0, i32(p.w) - 1))]), inb);
}

// Six inputs of row iy starting at column x0 (zero outside the image).
fn xrow6(plane: u32, iy: i32, x0: i32) -> Row6 {
    let ok = iy >= 0 && iy < i32(p.h);
    let rb = plane + u32(clamp(iy, 0, i32(p.h) - 1)) * p.w;
    return Row6(ld(rb, x0, ok), ld(rb, x0 + 1, ok), ld(rb, x0 + 2, ok), ld(rb, x0 + 3, ok), ld(rb, x0 + 4, ok), ld(rb, x0 + 5, ok));
}

// One weight row (3 taps) applied to one input row for 4 adjacent output columns.
fn taps3(acc: Acc4, r: Row6, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>) -> Acc4 {
    var o = acc;
    o.a0 = fma(vec4<f32>(r.v0), w0, o.a0); o.a0 = fma(vec4<f32>(r.v1), w1, o.a0); o.a0 = fma(vec4<f32>(r.v2), w2, o.a0);
    o.a1 = fma(vec4<f32>(r.v1), w0, o.a1); o.a1 = fma(vec4<f32>(r.v2), w1, o.a1); o.a1 = fma(vec4<f32>(r.v3), w2, o.a1);
    o.a2 = fma(vec4<f32>(r.v2), w0, o.a2); o.a2 = fma(vec4<f32>(r.v3), w1, o.a2); o.a2 = fma(vec4<f32>(r.v4), w2, o.a2);
    o.a3 = fma(vec4<f32>(r.v3), w0, o.a3); o.a3 = fma(vec4<f32>(r.v4), w1, o.a3); o.a3 = fma(vec4<f32>(r.v5), w2, o.a3);
    return o;
}

fn store4(k0: u32, n: u32, oy: u32, ox0: u32, a: Acc4) {
    if (oy >= p.oh) { return; }
    for (var i = 0u; i < 4u; i++) {
        let k = k0 + i;
        if (k >= p.k) { return; }
        let row = ((n * p.k + k) * p.oh + oy) * p.ow + ox0;
        if (ox0 < p.ow) { yout[row] = T3(a.a0[i]); }
        if (ox0 + 1u < p.ow) { yout[row + 1u] = T3(a.a1[i]); }
        if (ox0 + 2u < p.ow) { yout[row + 2u] = T3(a.a2[i]); }
        if (ox0 + 3u < p.ow) { yout[row + 3u] = T3(a.a3[i]); }
    }
}

// Grid: x = 4×4 spatial tiles (row-major over the output), y = channel blocks of 4, z = batch.
@compute @workgroup_size(64)
fn forward3(@builtin(global_invocation_id) gid: vec3<u32>) {
    let tw = (p.ow + 3u) / 4u;
    let th = (p.oh + 3u) / 4u;
    let ty = gid.x / tw;
    if (ty >= th) { return; }
    let ox0 = (gid.x % tw) * 4u;
    let oy0 = ty * 4u;
    let kb = gid.y;
    let k4 = (p.k + 3u) / 4u;
    let n = gid.z;
    let x0 = i32(ox0) - i32(p.pad);
    let y0 = i32(oy0) - i32(p.pad);
    var a0: Acc4; var a1: Acc4; var a2: Acc4; var a3: Acc4;
    let hw = p.h * p.w;
    for (var c = 0u; c < p.c; c++) {
        let plane = (n * p.c + c) * hw;
        let wb = c * 9u * k4 + kb;
        let w00 = wpk[wb]; let w01 = wpk[wb + k4]; let w02 = wpk[wb + 2u * k4];
        let w10 = wpk[wb + 3u * k4]; let w11 = wpk[wb + 4u * k4]; let w12 = wpk[wb + 5u * k4];
        let w20 = wpk[wb + 6u * k4]; let w21 = wpk[wb + 7u * k4]; let w22 = wpk[wb + 8u * k4];
        let r0 = xrow6(plane, y0, x0);
        a0 = taps3(a0, r0, w00, w01, w02);
        let r1 = xrow6(plane, y0 + 1, x0);
        a0 = taps3(a0, r1, w10, w11, w12);
        a1 = taps3(a1, r1, w00, w01, w02);
        let r2 = xrow6(plane, y0 + 2, x0);
        a0 = taps3(a0, r2, w20, w21, w22);
        a1 = taps3(a1, r2, w10, w11, w12);
        a2 = taps3(a2, r2, w00, w01, w02);
        let r3 = xrow6(plane, y0 + 3, x0);
        a1 = taps3(a1, r3, w20, w21, w22);
        a2 = taps3(a2, r3, w10, w11, w12);
        a3 = taps3(a3, r3, w00, w01, w02);
        let r4 = xrow6(plane, y0 + 4, x0);
        a2 = taps3(a2, r4, w20, w21, w22);
        a3 = taps3(a3, r4, w10, w11, w12);
        let r5 = xrow6(plane, y0 + 5, x0);
        a3 = taps3(a3, r5, w20, w21, w22);
    }
    let k0 = kb * 4u;
    store4(k0, n, oy0, ox0, a0);
    store4(k0, n, oy0 + 1u, ox0, a1);
    store4(k0, n, oy0 + 2u, ox0, a2);
    store4(k0, n, oy0 + 3u, ox0, a3);
}

// Weight gradient of the 3×3 stride-1 case: split `s` sums rows (n, oy) in [s·rows_per_split, …)
// for 4 output channels (one vec4) × 2 input channels × 9 taps, 4 output columns at a time:
// per step 16 dy + 36 x loads feed 288 FMAs. Writes dw_partial[s, k, c, tap] like
// backward_weight_partial (reduced by backward_weight_reduce).
// Grid: x = (K/4 blocks) × (C/2 blocks), y = splits.
@group(0) @binding(1) var<storage, read> gy: array<T1>;
@group(0) @binding(2) var<storage, read> gx: array<T2>;
@group(0) @binding(3) var<storage, read_write> gpart: array<f32>;

struct Taps9 {
    t00: vec4<f32>, t01: vec4<f32>, t02: vec4<f32>,
    t10: vec4<f32>, t11: vec4<f32>, t12: vec4<f32>,
    t20: vec4<f32>, t21: vec4<f32>, t22: vec4<f32>,
}

fn ldx(rb: u32, ix: i32, ok: bool) -> f32 {
    let inb = ok && ix >= 0 && ix < i32(p.w);
    return select(0.0, f32(gx[rb + u32(clamp(ix, 0, i32(p.w) - 1))]), inb);
}

fn gxrow6(plane: u32, iy: i32, x0: i32) -> Row6 {
    let ok = iy >= 0 && iy < i32(p.h);
    let rb = plane + u32(clamp(iy, 0, i32(p.h) - 1)) * p.w;
    return Row6(ldx(rb, x0, ok), ldx(rb, x0 + 1, ok), ldx(rb, x0 + 2, ok), ldx(rb, x0 + 3, ok), ldx(rb, x0 + 4, ok), ldx(rb, x0 + 5, ok));
}

// acc[r][s] += Σ_j x[r][j + s] · g_j for one weight row r (3 taps) over 4 columns.
fn wrow(t0: vec4<f32>, t1: vec4<f32>, t2: vec4<f32>, r: Row6, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32>) -> mat3x4<f32> {
    var a0 = t0; var a1 = t1; var a2 = t2;
    a0 = fma(vec4<f32>(r.v0), g0, a0); a0 = fma(vec4<f32>(r.v1), g1, a0); a0 = fma(vec4<f32>(r.v2), g2, a0); a0 = fma(vec4<f32>(r.v3), g3, a0);
    a1 = fma(vec4<f32>(r.v1), g0, a1); a1 = fma(vec4<f32>(r.v2), g1, a1); a1 = fma(vec4<f32>(r.v3), g2, a1); a1 = fma(vec4<f32>(r.v4), g3, a1);
    a2 = fma(vec4<f32>(r.v2), g0, a2); a2 = fma(vec4<f32>(r.v3), g1, a2); a2 = fma(vec4<f32>(r.v4), g2, a2); a2 = fma(vec4<f32>(r.v5), g3, a2);
    return mat3x4<f32>(a0, a1, a2);
}

fn wtaps(acc: Taps9, plane: u32, y0: i32, x0: i32, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32>) -> Taps9 {
    let m0 = wrow(acc.t00, acc.t01, acc.t02, gxrow6(plane, y0, x0), g0, g1, g2, g3);
    let m1 = wrow(acc.t10, acc.t11, acc.t12, gxrow6(plane, y0 + 1, x0), g0, g1, g2, g3);
    let m2 = wrow(acc.t20, acc.t21, acc.t22, gxrow6(plane, y0 + 2, x0), g0, g1, g2, g3);
    return Taps9(m0[0], m0[1], m0[2], m1[0], m1[1], m1[2], m2[0], m2[1], m2[2]);
}

fn gyv(rb: u32, ox: u32) -> f32 {
    return select(0.0, f32(gy[rb + min(ox, p.ow - 1u)]), ox < p.ow);
}

fn wstore(split: u32, k0: u32, c: u32, a: Taps9) {
    if (c >= p.c) { return; }
    for (var i = 0u; i < 4u; i++) {
        let k = k0 + i;
        if (k >= p.k) { return; }
        let b = ((split * p.k + k) * p.c + c) * 9u;
        gpart[b] = a.t00[i]; gpart[b + 1u] = a.t01[i]; gpart[b + 2u] = a.t02[i];
        gpart[b + 3u] = a.t10[i]; gpart[b + 4u] = a.t11[i]; gpart[b + 5u] = a.t12[i];
        gpart[b + 6u] = a.t20[i]; gpart[b + 7u] = a.t21[i]; gpart[b + 8u] = a.t22[i];
    }
}

@compute @workgroup_size(64)
fn backward_weight3(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kb = (p.k + 3u) / 4u;
    let cb = (p.c + 1u) / 2u;
    let k0 = (gid.x % kb) * 4u;
    let c0 = (gid.x / kb) * 2u;
    let split = gid.y;
    if (c0 >= p.c || split >= p.splits) { return; }
    let c1 = min(c0 + 1u, p.c - 1u);
    let plane = p.oh * p.ow;
    let kl = p.k - 1u;
    var acc0: Taps9;
    var acc1: Taps9;
    let row_end = min((split + 1u) * p.rows_per_split, p.n * p.oh);
    for (var row = split * p.rows_per_split; row < row_end; row++) {
        let n = row / p.oh;
        let oy = row % p.oh;
        let d0 = (n * p.k + min(k0, kl)) * plane + oy * p.ow;
        let d1 = (n * p.k + min(k0 + 1u, kl)) * plane + oy * p.ow;
        let d2 = (n * p.k + min(k0 + 2u, kl)) * plane + oy * p.ow;
        let d3 = (n * p.k + min(k0 + 3u, kl)) * plane + oy * p.ow;
        let xp0 = (n * p.c + c0) * p.h * p.w;
        let xp1 = (n * p.c + c1) * p.h * p.w;
        let y0 = i32(oy) - i32(p.pad);
        for (var ox = 0u; ox < p.ow; ox += 4u) {
            // g_j[i] = dy[n, k0 + i, oy, ox + j] (zero past the row end); channels past K are
            // clamped duplicates whose sums are never stored.
            let g0 = vec4<f32>(gyv(d0, ox), gyv(d1, ox), gyv(d2, ox), gyv(d3, ox));
            let g1 = vec4<f32>(gyv(d0, ox + 1u), gyv(d1, ox + 1u), gyv(d2, ox + 1u), gyv(d3, ox + 1u));
            let g2 = vec4<f32>(gyv(d0, ox + 2u), gyv(d1, ox + 2u), gyv(d2, ox + 2u), gyv(d3, ox + 2u));
            let g3 = vec4<f32>(gyv(d0, ox + 3u), gyv(d1, ox + 3u), gyv(d2, ox + 3u), gyv(d3, ox + 3u));
            let x0 = i32(ox) - i32(p.pad);
            acc0 = wtaps(acc0, xp0, y0, x0, g0, g1, g2, g3);
            acc1 = wtaps(acc1, xp1, y0, x0, g0, g1, g2, g3);
        }
    }
    wstore(split, k0, c0, acc0);
    if (c0 + 1u < p.c) { wstore(split, k0, c0 + 1u, acc1); }
}
