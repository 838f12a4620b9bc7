// Mixup and CutMix of a normalised batch (docs/METHODS.md), after the crop/flip/normalise pass.
// Shapes: x, out (N, 3, 32, 32); perm (N) u32, the batch image each row mixes with.
// x and out are typed by their tensors (T1, T3: f32, or f16 images under mixed precision).
//   mixup:  out[n] = m·x[n] + (1 − m)·x[perm[n]]
//   cutmix: out[n] = x[perm[n]] inside the box [y0, y1) × [x0, x1) (all channels), x[n] outside.

struct Params { n: u32, mode: u32, y0: u32, y1: u32, x0: u32, x1: u32, m: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T1>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<T3>;

@compute @workgroup_size(WG_1D)
fn mix(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * 3072u) { return; }
    let n = i / 3072u;
    let j = perm[n] * 3072u + i % 3072u;
    if (p.mode == 1u) {
        out[i] = T3(p.m * f32(x[i]) + (1.0 - p.m) * f32(x[j]));
    } else {
        let yy = (i / 32u) % 32u;
        let xx = i % 32u;
        let inside = yy >= p.y0 && yy < p.y1 && xx >= p.x0 && xx < p.x1;
        out[i] = T3(select(f32(x[i]), f32(x[j]), inside));
    }
}
