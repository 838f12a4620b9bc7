// Pooling. Shapes: x, dx (N, C, H, W); y, dy (N, C, OH, OW).
// max_*: 2×2 windows, stride 2, OH = H / 2 (a trailing odd row/column is dropped, as PyTorch).
// avg_*: non-overlapping WIN×WIN windows (WIN = H = W gives global average pooling).
// Backward kernels run one thread per INPUT element, so each writes its own dx (overwrites, no zeroing).
// Every binding is typed by its tensor (T1…T3: f32, or f16 activations under mixed precision).

struct Params { n: u32, c: u32, h: u32, w: u32, oh: u32, ow: u32, win: u32, _p0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T1>;
@group(0) @binding(2) var<storage, read_write> y: array<T2>;

@group(0) @binding(2) var<storage, read> dy: array<T2>;
@group(0) @binding(3) var<storage, read_write> dx: array<T3>;

@group(0) @binding(1) var<storage, read> avg_dy: array<T1>;
@group(0) @binding(2) var<storage, read_write> avg_dx: array<T2>;

fn xv(i: u32) -> f32 { return f32(x[i]); }


@compute @workgroup_size(WG_1D)
fn max_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.oh * p.ow) { return; }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let plane = i / (p.ow * p.oh);
    let base = plane * p.h * p.w + 2u * oy * p.w + 2u * ox;
    y[i] = T2(max(max(xv(base), xv(base + 1u)), max(xv(base + p.w), xv(base + p.w + 1u))));
}

// The gradient goes to the first maximum of each window (row-major order), as PyTorch.
@compute @workgroup_size(WG_1D)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.h * p.w) { return; }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let ox = ix / 2u;
    let oy = iy / 2u;
    if (ox >= p.ow || oy >= p.oh) { dx[i] = T3(0.0); return; }
    let base = plane * p.h * p.w + 2u * oy * p.w + 2u * ox;
    var best = base;
    for (var t = 1u; t < 4u; t++) {
        let j = base + (t / 2u) * p.w + (t % 2u);
        if (xv(j) > xv(best)) { best = j; }
    }
    dx[i] = T3(select(0.0, f32(dy[(plane * p.oh + oy) * p.ow + ox]), best == i));
}

@compute @workgroup_size(WG_1D)
fn avg_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.oh * p.ow) { return; }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let plane = i / (p.ow * p.oh);
    var s = 0.0;
    for (var r = 0u; r < p.win; r++) {
        let row = plane * p.h * p.w + (oy * p.win + r) * p.w + ox * p.win;
        for (var t = 0u; t < p.win; t++) { s += xv(row + t); }
    }
    y[i] = T2(s / f32(p.win * p.win));
}

@compute @workgroup_size(WG_1D)
fn avg_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.h * p.w) { return; }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let ox = ix / p.win;
    let oy = iy / p.win;
    if (ox >= p.ow || oy >= p.oh) { avg_dx[i] = T2(0.0); return; }
    avg_dx[i] = T2(f32(avg_dy[(plane * p.oh + oy) * p.ow + ox]) / f32(p.win * p.win));
}
