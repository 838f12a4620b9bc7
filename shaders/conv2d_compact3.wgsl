// The compact family's 3×3, stride-1 convolutions, shaped for CPU adapters such as SwiftShader.
// SwiftShader runs 4 invocations per SIMD batch and does no loop unrolling: a private array indexed
// by a loop variable lives in memory and every storage load is a 4-lane gather. So these kernels
// keep their accumulators in named registers and write the 3 taps out by hand (no loops over taps,
// columns or channels inside the hot loop), and reuse each loaded value as often as they can.
// Shapes and Params as shaders/conv2d_generic.wgsl (whose backward_weight_reduce sums the partials).

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    k: u32, oh: u32, ow: u32, pad: u32,
    // weight gradient only: rows (n, oy) per split and the number of splits
    rows_per_split: u32, splits: u32, _p0: u32, _p1: u32,
}

// false: y = conv(x, w) (forward). true: dx = conv(dy, w flipped, channels swapped, pad 2 − pad),
// the input gradient of a stride-1 convolution, which is the same loop over different addresses.
override TRANSPOSED: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw_partial: array<f32>;

const COLS = 8u; // output columns per thread (× 4 output channels)

// Forward or input gradient. Grid: x = column blocks of COLS × output rows, y = output-channel
// blocks of 4, z = batch.
@compute @workgroup_size(16, 4, 1)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    // "in" is what the loop reads (x or dy), "out" what it writes (y or dx).
    let cin = select(p.c, p.k, TRANSPOSED);
    let cout = select(p.k, p.c, TRANSPOSED);
    let ih = select(p.h, p.oh, TRANSPOSED);
    let iw = select(p.w, p.ow, TRANSPOSED);
    let oh = select(p.oh, p.h, TRANSPOSED);
    let ow = select(p.ow, p.w, TRANSPOSED);
    let pad = select(p.pad, 2u - p.pad, TRANSPOSED);
    let owb = (ow + COLS - 1u) / COLS;
    let oy = gid.x / owb;
    let ox0 = (gid.x % owb) * COLS;
    let o0 = gid.y * 4u;
    let n = gid.z;
    if (oy >= oh || o0 >= cout || n >= p.n) { return; }
    // Weight of (out o, in i, row r, tap t): forward w[o, i, r, t]; transposed w[i, o, 2 − r, 2 − t].
    let os = select(p.c * 9u, 9u, TRANSPOSED);
    let is = select(9u, p.c * 9u, TRANSPOSED);
    let w0 = o0 * os;
    let w1 = min(o0 + 1u, cout - 1u) * os;
    let w2 = min(o0 + 2u, cout - 1u) * os;
    let w3 = min(o0 + 3u, cout - 1u) * os;
    let t0 = select(0u, 2u, TRANSPOSED);
    let t2 = select(2u, 0u, TRANSPOSED);
    // Input columns of this block, clamped, with a 0/1 mask for the zero padding.
    let xl = i32(ox0) - i32(pad);
    let wm = i32(iw) - 1;
    let i0 = u32(clamp(xl + 0, 0, wm)); let m0 = select(0.0, 1.0, xl + 0 >= 0 && xl + 0 <= wm);
    let i1 = u32(clamp(xl + 1, 0, wm)); let m1 = select(0.0, 1.0, xl + 1 >= 0 && xl + 1 <= wm);
    let i2 = u32(clamp(xl + 2, 0, wm)); let m2 = select(0.0, 1.0, xl + 2 >= 0 && xl + 2 <= wm);
    let i3 = u32(clamp(xl + 3, 0, wm)); let m3 = select(0.0, 1.0, xl + 3 >= 0 && xl + 3 <= wm);
    let i4 = u32(clamp(xl + 4, 0, wm)); let m4 = select(0.0, 1.0, xl + 4 >= 0 && xl + 4 <= wm);
    let i5 = u32(clamp(xl + 5, 0, wm)); let m5 = select(0.0, 1.0, xl + 5 >= 0 && xl + 5 <= wm);
    let i6 = u32(clamp(xl + 6, 0, wm)); let m6 = select(0.0, 1.0, xl + 6 >= 0 && xl + 6 <= wm);
    let i7 = u32(clamp(xl + 7, 0, wm)); let m7 = select(0.0, 1.0, xl + 7 >= 0 && xl + 7 <= wm);
    let i8 = u32(clamp(xl + 8, 0, wm)); let m8 = select(0.0, 1.0, xl + 8 >= 0 && xl + 8 <= wm);
    let i9 = u32(clamp(xl + 9, 0, wm)); let m9 = select(0.0, 1.0, xl + 9 >= 0 && xl + 9 <= wm);
    var a0 = vec4<f32>(0.0); // column ox0 + 0, channels o0..o0 + 3
    var a1 = vec4<f32>(0.0); // column ox0 + 1, channels o0..o0 + 3
    var a2 = vec4<f32>(0.0); // column ox0 + 2, channels o0..o0 + 3
    var a3 = vec4<f32>(0.0); // column ox0 + 3, channels o0..o0 + 3
    var a4 = vec4<f32>(0.0); // column ox0 + 4, channels o0..o0 + 3
    var a5 = vec4<f32>(0.0); // column ox0 + 5, channels o0..o0 + 3
    var a6 = vec4<f32>(0.0); // column ox0 + 6, channels o0..o0 + 3
    var a7 = vec4<f32>(0.0); // column ox0 + 7, channels o0..o0 + 3
    // Only the kernel rows that fall inside the input.
    let iy0 = i32(oy) - i32(pad);
    let r0 = u32(max(-iy0, 0));
    let r1 = u32(clamp(i32(ih) - iy0, 0, 3));
    for (var ci = 0u; ci < cin; ci++) {
        let plane = (n * cin + ci) * ih * iw;
        for (var r = r0; r < r1; r++) {
            let row = plane + u32(iy0 + i32(r)) * iw;
            let v0 = vec4<f32>(src[row + i0] * m0);
            let v1 = vec4<f32>(src[row + i1] * m1);
            let v2 = vec4<f32>(src[row + i2] * m2);
            let v3 = vec4<f32>(src[row + i3] * m3);
            let v4 = vec4<f32>(src[row + i4] * m4);
            let v5 = vec4<f32>(src[row + i5] * m5);
            let v6 = vec4<f32>(src[row + i6] * m6);
            let v7 = vec4<f32>(src[row + i7] * m7);
            let v8 = vec4<f32>(src[row + i8] * m8);
            let v9 = vec4<f32>(src[row + i9] * m9);
            let wb = ci * is + select(r * 3u, 6u - r * 3u, TRANSPOSED);
            let k0 = vec4<f32>(wt[w0 + wb + t0], wt[w1 + wb + t0], wt[w2 + wb + t0], wt[w3 + wb + t0]);
            let k1 = vec4<f32>(wt[w0 + wb + 1u], wt[w1 + wb + 1u], wt[w2 + wb + 1u], wt[w3 + wb + 1u]);
            let k2 = vec4<f32>(wt[w0 + wb + t2], wt[w1 + wb + t2], wt[w2 + wb + t2], wt[w3 + wb + t2]);
            a0 = fma(v2, k2, fma(v1, k1, fma(v0, k0, a0)));
            a1 = fma(v3, k2, fma(v2, k1, fma(v1, k0, a1)));
            a2 = fma(v4, k2, fma(v3, k1, fma(v2, k0, a2)));
            a3 = fma(v5, k2, fma(v4, k1, fma(v3, k0, a3)));
            a4 = fma(v6, k2, fma(v5, k1, fma(v4, k0, a4)));
            a5 = fma(v7, k2, fma(v6, k1, fma(v5, k0, a5)));
            a6 = fma(v8, k2, fma(v7, k1, fma(v6, k0, a6)));
            a7 = fma(v9, k2, fma(v8, k1, fma(v7, k0, a7)));
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let o = o0 + i;
        if (o >= cout) { break; }
        let out = ((n * cout + o) * oh + oy) * ow + ox0;
        if (ox0 + 0u < ow) { dst[out + 0u] = a0[i]; }
        if (ox0 + 1u < ow) { dst[out + 1u] = a1[i]; }
        if (ox0 + 2u < ow) { dst[out + 2u] = a2[i]; }
        if (ox0 + 3u < ow) { dst[out + 3u] = a3[i]; }
        if (ox0 + 4u < ow) { dst[out + 4u] = a4[i]; }
        if (ox0 + 5u < ow) { dst[out + 5u] = a5[i]; }
        if (ox0 + 6u < ow) { dst[out + 6u] = a6[i]; }
        if (ox0 + 7u < ow) { dst[out + 7u] = a7[i]; }
    }
}

// Partial weight gradients: split `s` sums rows (n, oy) in [s·rows_per_split, …) for a block of 4
// output channels × 1 input channel × the 9 taps. Along a row the 3×3 input window slides one
// column per step, so each step loads 3 new inputs and 4 output gradients for 36 multiply-adds.
// Writes dw_partial[s, k, c, r, t]. Grid: x = (K/4 blocks) × C, y = splits.
@compute @workgroup_size(64, 1, 1)
fn backward_weight_partial(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kb = (p.k + 3u) / 4u;
    let c = gid.x / kb;
    let k0 = (gid.x % kb) * 4u;
    let split = gid.y;
    if (c >= p.c || split >= p.splits) { return; }
    let plane = p.oh * p.ow;
    let d1 = min(k0 + 1u, p.k - 1u) * plane - k0 * plane;
    let d2 = min(k0 + 2u, p.k - 1u) * plane - k0 * plane;
    let d3 = min(k0 + 3u, p.k - 1u) * plane - k0 * plane;
    let hm = i32(p.h) - 1;
    let wm = i32(p.w) - 1;
    var g00 = vec4<f32>(0.0); // tap (0, 0), channels k0..k0 + 3
    var g01 = vec4<f32>(0.0); // tap (0, 1), channels k0..k0 + 3
    var g02 = vec4<f32>(0.0); // tap (0, 2), channels k0..k0 + 3
    var g10 = vec4<f32>(0.0); // tap (1, 0), channels k0..k0 + 3
    var g11 = vec4<f32>(0.0); // tap (1, 1), channels k0..k0 + 3
    var g12 = vec4<f32>(0.0); // tap (1, 2), channels k0..k0 + 3
    var g20 = vec4<f32>(0.0); // tap (2, 0), channels k0..k0 + 3
    var g21 = vec4<f32>(0.0); // tap (2, 1), channels k0..k0 + 3
    var g22 = vec4<f32>(0.0); // tap (2, 2), channels k0..k0 + 3
    let row_end = min((split + 1u) * p.rows_per_split, p.n * p.oh);
    for (var rw = split * p.rows_per_split; rw < row_end; rw++) {
        let n = rw / p.oh;
        let oy = rw % p.oh;
        let drow = (n * p.k + k0) * plane + oy * p.ow;
        let xplane = (n * p.c + c) * p.h * p.w;
        // The three input rows (clamped, masked) and the window's first two columns.
        let iy = i32(oy) - i32(p.pad);
        let q0 = xplane + u32(clamp(iy + 0, 0, hm)) * p.w; let e0 = select(0.0, 1.0, iy + 0 >= 0 && iy + 0 <= hm);
        let q1 = xplane + u32(clamp(iy + 1, 0, hm)) * p.w; let e1 = select(0.0, 1.0, iy + 1 >= 0 && iy + 1 <= hm);
        let q2 = xplane + u32(clamp(iy + 2, 0, hm)) * p.w; let e2 = select(0.0, 1.0, iy + 2 >= 0 && iy + 2 <= hm);
        let xl = -i32(p.pad);
        var x00 = src_x(q0, xl + 0, wm) * e0;
        var x01 = src_x(q0, xl + 1, wm) * e0;
        var x10 = src_x(q1, xl + 0, wm) * e1;
        var x11 = src_x(q1, xl + 1, wm) * e1;
        var x20 = src_x(q2, xl + 0, wm) * e2;
        var x21 = src_x(q2, xl + 1, wm) * e2;
        for (var ox = 0u; ox < p.ow; ox++) {
            let d = drow + ox;
            let g = vec4<f32>(dy[d], dy[d + d1], dy[d + d2], dy[d + d3]);
            let col = i32(ox) + xl + 2;
            let x02 = src_x(q0, col, wm) * e0;
            let x12 = src_x(q1, col, wm) * e1;
            let x22 = src_x(q2, col, wm) * e2;
            g00 = fma(vec4<f32>(x00), g, g00); g01 = fma(vec4<f32>(x01), g, g01); g02 = fma(vec4<f32>(x02), g, g02);
            g10 = fma(vec4<f32>(x10), g, g10); g11 = fma(vec4<f32>(x11), g, g11); g12 = fma(vec4<f32>(x12), g, g12);
            g20 = fma(vec4<f32>(x20), g, g20); g21 = fma(vec4<f32>(x21), g, g21); g22 = fma(vec4<f32>(x22), g, g22);
            x00 = x01; x01 = x02;
            x10 = x11; x11 = x12;
            x20 = x21; x21 = x22;
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let k = k0 + i;
        if (k >= p.k) { break; }
        let b = ((split * p.k + k) * p.c + c) * 9u;
        dw_partial[b + 0u] = g00[i]; dw_partial[b + 1u] = g01[i]; dw_partial[b + 2u] = g02[i];
        dw_partial[b + 3u] = g10[i]; dw_partial[b + 4u] = g11[i]; dw_partial[b + 5u] = g12[i];
        dw_partial[b + 6u] = g20[i]; dw_partial[b + 7u] = g21[i]; dw_partial[b + 8u] = g22[i];
    }
}

// x[row + col], 0 outside 0..=wm.
fn src_x(row: u32, col: i32, wm: i32) -> f32 {
    return select(0.0, x[row + u32(clamp(col, 0, wm))], col >= 0 && col <= wm);
}
