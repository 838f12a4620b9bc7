// Batch normalisation over (N, H, W) per channel, as torch.nn.BatchNorm2d (eps, momentum 0.1),
// optionally followed by ReLU in the same kernel (p.relu = 1): every model here runs BN then ReLU,
// so fusing saves a dispatch and a full read and write of the activation, forward and backward.
// Shapes: x, y, dy, dx (N, C, H, W); gamma, beta, running_mean, running_var (C); stats (2C):
// the batch mean of each channel, then its 1/sqrt(var + eps).
// Training: one workgroup per channel computes the batch statistics (two passes: mean, then
// centred variance, so large means do not cancel), updates the running statistics with the
// unbiased variance, keeps mean and rstd for the backward, and writes y.

// Threads per channel of the training kernels (a power of two ≤ 256): 256 on GPUs and lavapipe,
// 32 on browsers' software adapters, where wide tree reductions cost more than they save.
override BN_WG: u32 = 256u;

struct Params { n: u32, c: u32, hw: u32, momentum: f32, eps: f32, relu: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> save_stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
// Set to 1 when a running statistic would become NaN or ±∞ (see check_health).
@group(0) @binding(8) var<storage, read_write> health: array<u32>;

@group(0) @binding(4) var<storage, read> eval_mean: array<f32>;
@group(0) @binding(5) var<storage, read> eval_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> eval_y: array<f32>;

// The forward's output: with ReLU fused, dy only flows where it is positive (x again otherwise).
@group(0) @binding(2) var<storage, read> g_y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> g_gamma: array<f32>;
@group(0) @binding(5) var<storage, read> g_stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(8) var<storage, read_write> dbeta: array<f32>;

// The two per-channel sums of a training kernel, across its BN_WG threads (prelude's wg_sum).
fn reduce2(lid: u32, v: vec2<f32>) -> vec2<f32> { return wg_sum(lid, BN_WG, vec4<f32>(v, 0.0, 0.0)).xy; }

fn at(n: u32, ch: u32, i: u32) -> u32 { return (n * p.c + ch) * p.hw + i; }

// The activation after the affine map: ReLU when fused.
fn act(v: f32) -> f32 { return select(v, max(v, 0.0), p.relu != 0u); }

@compute @workgroup_size(BN_WG)
fn forward_train(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let ch = wid.x;
    let lid = lid3.x;
    let m = p.n * p.hw;
    var s = 0.0;
    for (var j = lid; j < m; j += BN_WG) { s += x[at(j / p.hw, ch, j % p.hw)]; }
    let mean = reduce2(lid, vec2<f32>(s, 0.0)).x / f32(m);
    var q = 0.0;
    for (var j = lid; j < m; j += BN_WG) { let d = x[at(j / p.hw, ch, j % p.hw)] - mean; q += d * d; }
    let var_b = reduce2(lid, vec2<f32>(q, 0.0)).x / f32(m);
    let rstd = inverseSqrt(var_b + p.eps);
    let g = gamma[ch] * rstd;
    let b = beta[ch] - mean * g;
    for (var j = lid; j < m; j += BN_WG) { let i = at(j / p.hw, ch, j % p.hw); y[i] = act(x[i] * g + b); }
    if (lid == 0u) {
        save_stats[ch] = mean;
        save_stats[p.c + ch] = rstd;
        let unbiased = var_b * f32(m) / f32(max(m, 2u) - 1u);
        let rm = (1.0 - p.momentum) * running_mean[ch] + p.momentum * mean;
        let rv = (1.0 - p.momentum) * running_var[ch] + p.momentum * unbiased;
        running_mean[ch] = rm;
        running_var[ch] = rv;
        if (!is_finite(rm) || !is_finite(rv)) { health[0] = 1u; }
    }
}

// After a training step's loss: when any batch norm flagged non-finite running statistics, the
// loss becomes NaN (so SGD skips the step, as for a diverged loss) with loss[3] = 1 saying why;
// the flags (p.c words) are cleared for the next step. One invocation.
@group(0) @binding(1) var<storage, read_write> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> step_loss: array<f32>;

@compute @workgroup_size(1)
fn check_health() {
    var bad = 0u;
    for (var i = 0u; i < p.c; i++) { bad |= flags[i]; flags[i] = 0u; }
    if (bad != 0u) {
        step_loss[0] = bitcast<f32>(0x7fc00000u | (bad & 0u));
        step_loss[3] = 1.0;
    }
}

// Evaluation: y = act((x − running_mean) / sqrt(running_var + eps) · gamma + beta). 1-D grid over all elements.
@compute @workgroup_size(WG_1D)
fn forward_eval(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.hw) { return; }
    let ch = (i / p.hw) % p.c;
    let g = gamma[ch] * inverseSqrt(eval_var[ch] + p.eps);
    eval_y[i] = act((x[i] - eval_mean[ch]) * g + beta[ch]);
}

// dy, masked by ReLU's y > 0 when fused.
fn grad_in(i: u32) -> f32 { return select(dy[i], 0.0, p.relu != 0u && g_y[i] <= 0.0); }

// Training-mode backward (overwrites dx, dgamma, dbeta), with x̂ = (x − mean)·rstd, M = N·H·W and
// g = dy masked by y > 0 when ReLU is fused (ReLU's own backward), else dy:
// dbeta = Σ g, dgamma = Σ g·x̂, dx = gamma·rstd/M · (M·g − dbeta − x̂·dgamma).
@compute @workgroup_size(BN_WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let ch = wid.x;
    let lid = lid3.x;
    let m = p.n * p.hw;
    let mean = g_stats[ch];
    let rstd = g_stats[p.c + ch];
    var acc = vec2<f32>(0.0);
    for (var j = lid; j < m; j += BN_WG) {
        let i = at(j / p.hw, ch, j % p.hw);
        let gi = grad_in(i);
        acc += vec2<f32>(gi, gi * (x[i] - mean) * rstd);
    }
    let sums = reduce2(lid, acc);
    let k = g_gamma[ch] * rstd / f32(m);
    for (var j = lid; j < m; j += BN_WG) {
        let i = at(j / p.hw, ch, j % p.hw);
        let xhat = (x[i] - mean) * rstd;
        dx[i] = k * (f32(m) * grad_in(i) - sums.x - xhat * sums.y);
    }
    if (lid == 0u) {
        dbeta[ch] = sums.x;
        dgamma[ch] = sums.y;
    }
}
