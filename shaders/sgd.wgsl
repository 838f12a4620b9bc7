// SGD with momentum and weight decay, as torch.optim.SGD (dampening 0), fused:
//   d = g + wd·w;  v ← μ·v + d;  w ← w − lr·v   (Nesterov: w ← w − lr·(d + μ·v))
// Shapes: w, g, v, kept_w, kept_v (n): usually a model's whole parameter arenas, so one dispatch
// updates every parameter (the zero padding between slots stays zero). The step is skipped when
// the step's loss (loss[0]) is not finite, so a diverging step never overwrites the last good
// weights. A step whose loss is finite has just shown that w and v are sound: they are kept
// (kept_w, kept_v) before the update, so a later divergence can go back to the last weights a
// finite forward was computed with. A non-finite loss also sets `halted`, and every later step
// skips until the host clears it: a step recorded before the host saw that loss (the trainer
// reads step i's loss while step i+1 runs) then changes no weight either.

struct Params { n: u32, nesterov: u32, _p1: u32, _p2: u32, lr: f32, momentum: f32, weight_decay: f32, _p3: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> kept_w: array<f32>;
@group(0) @binding(6) var<storage, read_write> kept_v: array<f32>;
@group(0) @binding(7) var<storage, read_write> halted: array<atomic<u32>>;

@compute @workgroup_size(WG_1D)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let finite = is_finite(loss[0]);
    // Every invocation of this step sees the same loss, so one racing store changes no decision.
    if (!finite && i == 0u) { atomicStore(&halted[0], 1u); }
    if (i >= p.n || !finite || atomicLoad(&halted[0]) != 0u) { return; }
    let w0 = w[i];
    let v0 = v[i];
    kept_w[i] = w0;
    kept_v[i] = v0;
    let d = g[i] + p.weight_decay * w0;
    let vel = p.momentum * v0 + d;
    v[i] = vel;
    if (p.nesterov != 0u) {
        w[i] = w0 - p.lr * (d + p.momentum * vel);
    } else {
        w[i] = w0 - p.lr * vel;
    }
}
