// Elementwise ops: ReLU and addition (residual connections), forward and backward.
// Shapes: any; n = number of elements. 1-D grid folded into 2-D (see gpu::grid_1d).
// Every binding is typed by its tensor (T1…T3: f32, or f16 activations under mixed precision);
// arithmetic is f32.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<T1>;
@group(0) @binding(2) var<storage, read_write> y: array<T2>;

@group(0) @binding(1) var<storage, read> a: array<T1>;
@group(0) @binding(2) var<storage, read> b: array<T2>;
@group(0) @binding(3) var<storage, read_write> sum: array<T3>;

@group(0) @binding(2) var<storage, read> dy: array<T2>;
@group(0) @binding(3) var<storage, read_write> dx: array<T3>;

// y = max(x, 0)
@compute @workgroup_size(WG_1D)
fn relu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) { return; }
    y[i] = T2(max(f32(x[i]), 0.0));
}

// dx = dy where x > 0, else 0 (overwrites dx)
@compute @workgroup_size(WG_1D)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) { return; }
    dx[i] = T3(select(0.0, f32(dy[i]), f32(x[i]) > 0.0));
}

// sum = a + b (overwrites sum; the backward of an addition hands dy to both inputs unchanged)
@compute @workgroup_size(WG_1D)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) { return; }
    sum[i] = T3(f32(a[i]) + f32(b[i]));
}
