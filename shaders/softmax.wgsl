// Row softmax for evaluation: probs = softmax(z) over the K classes of each row (max subtracted).
// Shapes: z, probs (B, K). One thread per row (K is small: 10 or 100).

struct Params { b: u32, k: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

@compute @workgroup_size(64)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= p.b) { return; }
    let base = r * p.k;
    var m = -3.4e38;
    for (var j = 0u; j < p.k; j++) { m = max(m, z[base + j]); }
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) { s += exp(z[base + j] - m); }
    let inv = 1.0 / s;
    for (var j = 0u; j < p.k; j++) { probs[base + j] = exp(z[base + j] - m) * inv; }
}
