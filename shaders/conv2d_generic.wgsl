// 2-D convolution without bias (batch norm follows every conv in our models), zero padding.
// Shapes: x (N, C, H, W); w (K, C, KS, KS) as PyTorch; y (N, K, OH, OW), OH = (H + 2·PAD − KS) / STRIDE + 1.
// The generic kernels: any KS (1 or 3) and STRIDE (1 or 2). They are the compact family's
// convolutions and every family's path for 1×1 and strided convolutions. Register blocking, no
// shared memory: each thread owns a 4 (channels) × 4 (adjacent columns) tile of its output.
// x, y, dy, dx are typed by their tensors (f32, or f16 activations under mixed precision).

override KS: u32 = 3u;
override STRIDE: u32 = 1u;

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    k: u32, oh: u32, ow: u32, pad: u32,
    // weight gradient only: rows (n, oy) per split and the number of splits
    rows_per_split: u32, splits: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<T1>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<T3>;

@group(0) @binding(1) var<storage, read> dy: array<T1>;
@group(0) @binding(3) var<storage, read_write> dx: array<T3>;

@group(0) @binding(2) var<storage, read> x_for_dw: array<T2>;
@group(0) @binding(3) var<storage, read_write> dw_partial: array<f32>;

@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

// Grid: x = column blocks of 4 × output rows, y = channel blocks of 4, z = batch.
@compute @workgroup_size(16, 4, 1)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let owb = (p.ow + 3u) / 4u;
    let oy = gid.x / owb;
    let ox0 = (gid.x % owb) * 4u;
    let k0 = gid.y * 4u;
    let n = gid.z;
    if (oy >= p.oh || k0 >= p.k || n >= p.n) { return; }
    let kk = KS * KS;
    let wstride = p.c * kk;
    var kidx: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) { kidx[i] = min(k0 + i, p.k - 1u) * wstride; }
    var acc: array<vec4<f32>, 4>; // acc[j][i]: column ox0 + j, channel k0 + i
    let span = 3u * STRIDE + KS;
    let x0 = i32(ox0 * STRIDE) - i32(p.pad);
    for (var c = 0u; c < p.c; c++) {
        let xplane = (n * p.c + c) * p.h * p.w;
        for (var r = 0u; r < KS; r++) {
            let iy = i32(oy * STRIDE + r) - i32(p.pad);
            if (iy < 0 || iy >= i32(p.h)) { continue; }
            let xrow = xplane + u32(iy) * p.w;
            var xs: array<f32, 9>;
            for (var t = 0u; t < span; t++) {
                let ix = x0 + i32(t);
                xs[t] = select(0.0, f32(x[xrow + u32(max(ix, 0))]), ix >= 0 && ix < i32(p.w));
            }
            let wbase = c * kk + r * KS;
            for (var s = 0u; s < KS; s++) {
                let wv = vec4<f32>(wt[kidx[0] + wbase + s], wt[kidx[1] + wbase + s], wt[kidx[2] + wbase + s], wt[kidx[3] + wbase + s]);
                for (var j = 0u; j < 4u; j++) {
                    acc[j] = fma(vec4<f32>(xs[j * STRIDE + s]), wv, acc[j]);
                }
            }
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let k = k0 + i;
        if (k >= p.k) { break; }
        let yrow = ((n * p.k + k) * p.oh + oy) * p.ow;
        for (var j = 0u; j < 4u; j++) {
            if (ox0 + j < p.ow) { y[yrow + ox0 + j] = T3(acc[j][i]); }
        }
    }
}

// dx[n,c,iy,ix] = Σ_k Σ_r Σ_s w[k,c,r,s] · dy[n,k,oy,ox] where oy·STRIDE + r − PAD = iy (same for x).
// Overwrites dx. Grid: x = column blocks of 4 × input rows, y = input-channel blocks of 4, z = batch.
@compute @workgroup_size(16, 4, 1)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
    let iwb = (p.w + 3u) / 4u;
    let iy = gid.x / iwb;
    let ix0 = (gid.x % iwb) * 4u;
    let c0 = gid.y * 4u;
    let n = gid.z;
    if (iy >= p.h || c0 >= p.c || n >= p.n) { return; }
    let kk = KS * KS;
    var cidx: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) { cidx[i] = min(c0 + i, p.c - 1u) * kk; }
    var acc: array<vec4<f32>, 4>; // acc[j][i]: column ix0 + j, channel c0 + i
    for (var k = 0u; k < p.k; k++) {
        let dyplane = (n * p.k + k) * p.oh * p.ow;
        let wk = k * p.c * kk;
        for (var r = 0u; r < KS; r++) {
            let ty = i32(iy + p.pad) - i32(r);
            if (ty < 0 || ty % i32(STRIDE) != 0) { continue; }
            let oy = u32(ty) / STRIDE;
            if (oy >= p.oh) { continue; }
            let dyrow = dyplane + oy * p.ow;
            for (var s = 0u; s < KS; s++) {
                let wb = wk + r * KS + s;
                let wv = vec4<f32>(wt[wb + cidx[0]], wt[wb + cidx[1]], wt[wb + cidx[2]], wt[wb + cidx[3]]);
                for (var j = 0u; j < 4u; j++) {
                    let tx = i32(ix0 + j + p.pad) - i32(s);
                    let ox = u32(max(tx, 0)) / STRIDE;
                    let ok = tx >= 0 && tx % i32(STRIDE) == 0 && ox < p.ow;
                    let g = select(0.0, f32(dy[dyrow + min(ox, p.ow - 1u)]), ok);
                    acc[j] = fma(vec4<f32>(g), wv, acc[j]);
                }
            }
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let c = c0 + i;
        if (c >= p.c) { break; }
        let row = ((n * p.c + c) * p.h + iy) * p.w;
        for (var j = 0u; j < 4u; j++) {
            if (ix0 + j < p.w) { dx[row + ix0 + j] = T3(acc[j][i]); }
        }
    }
}

// Partial weight gradients: split `s` sums rows (n, oy) in [s·rows_per_split, …) for a block of 4
// output channels × 1 input channel × all KS² taps. Writes dw_partial[s, k, c, r, t].
// Grid: x = (K/4 blocks) × C, y = splits.
@compute @workgroup_size(64, 1, 1)
fn backward_weight_partial(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kb = (p.k + 3u) / 4u;
    let c = gid.x / kb;
    let k0 = (gid.x % kb) * 4u;
    let split = gid.y;
    if (c >= p.c || split >= p.splits) { return; }
    var acc: array<vec4<f32>, 9>; // acc[r·KS + t][i]: tap (r, t), channel k0 + i
    let row_end = min((split + 1u) * p.rows_per_split, p.n * p.oh);
    let plane = p.oh * p.ow;
    var kofs: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) { kofs[i] = min(k0 + i, p.k - 1u) * plane; }
    for (var row = split * p.rows_per_split; row < row_end; row++) {
        let n = row / p.oh;
        let oy = row % p.oh;
        let dyrow = n * p.k * plane + oy * p.ow;
        let xplane = (n * p.c + c) * p.h * p.w;
        for (var ox = 0u; ox < p.ow; ox++) {
            let g = vec4<f32>(f32(dy[dyrow + kofs[0] + ox]), f32(dy[dyrow + kofs[1] + ox]), f32(dy[dyrow + kofs[2] + ox]), f32(dy[dyrow + kofs[3] + ox]));
            for (var r = 0u; r < KS; r++) {
                let iy = i32(oy * STRIDE + r) - i32(p.pad);
                if (iy < 0 || iy >= i32(p.h)) { continue; }
                for (var t = 0u; t < KS; t++) {
                    let ix = i32(ox * STRIDE + t) - i32(p.pad);
                    let v = select(0.0, f32(x_for_dw[xplane + u32(iy) * p.w + u32(max(ix, 0))]), ix >= 0 && ix < i32(p.w));
                    acc[r * KS + t] = fma(vec4<f32>(v), g, acc[r * KS + t]);
                }
            }
        }
    }
    let kk = KS * KS;
    for (var i = 0u; i < 4u; i++) {
        let k = k0 + i;
        if (k >= p.k) { break; }
        let base = ((split * p.k + k) * p.c + c) * kk;
        for (var t = 0u; t < kk; t++) { dw_partial[base + t] = acc[t][i]; }
    }
}

// dw[i] = Σ_s partial[s, i] (overwrites dw). 1-D grid over K·C·KS².
@compute @workgroup_size(WG_1D)
fn backward_weight_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let total = p.k * p.c * KS * KS;
    if (i >= total) { return; }
    var s = 0.0;
    for (var j = 0u; j < p.splits; j++) { s += partial[j * total + i]; }
    dw[i] = s;
}
