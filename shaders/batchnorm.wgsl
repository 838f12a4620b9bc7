// Batch normalisation over (N, H, W) per channel, as torch.nn.BatchNorm2d (eps, momentum 0.1),
// optionally followed by ReLU in the same pass (p.relu = 1): every model here runs BN then ReLU,
// so fusing saves a dispatch and a full read and write of the activation, forward and backward.
// Shapes: x, y, dy, dx (N, C, H, W); gamma, beta, running_mean, running_var (C); stats (2C):
// the batch mean of each channel, then its 1/sqrt(var + eps).
// The activations x, y, g_y, eval_y (and dy, dx) are typed by their tensors (T1, T5, T2, T6, T3,
// T8: f32, or f16 under mixed precision); statistics, parameters and arithmetic are f32.
// Training runs in three passes, so that a GPU gets enough workgroups (one per channel is 32–128):
//   1. *_partial, grid (chunks, C): each channel's M = N·H·W elements in p.chunks chunks of
//      p.chunk_len (the last one shorter), one workgroup per chunk and channel writing the chunk's
//      partials (forward: its mean and centred M2, two reads of the chunk so that large means do
//      not cancel; backward: Σg and Σg·x̂); or *_partial_serial, one thread per chunk and channel
//      (a 1-D grid, no barriers: the CPU adapters' families, src/ops/batchnorm.rs);
//   2. *_finish, one thread per channel: merges its chunks in chunk order (deterministic; Chan's
//      pairwise merge of (count, mean, M2) forward, a sum backward) and finishes the statistics;
//   3. apply_train / grad_input: every element, a full 1-D grid.

// Threads per chunk of the workgroup partial passes (a power of two ≤ 256; set by
// src/ops/batchnorm.rs, WORKGROUP_THREADS).
override BN_WG: u32 = 256u;

struct Params { n: u32, c: u32, hw: u32, momentum: f32, eps: f32, relu: u32, chunks: u32, chunk_len: u32 }

@group(0) @binding(0) var<uniform> p: Params;

// Bindings by entry point (tensors from 1, in the order src/ops/batchnorm.rs passes them):
// stats_partial(_serial): x, part_out
// stats_finish:  part_in, running_mean, running_var, save_stats, health
// apply_train:     x, gamma, beta, stats, y
// forward_eval:  x, gamma, beta, eval_mean, eval_var, eval_y
// grad_partial(_serial):  x, g_y, dy, g_stats, g_part_out
// grad_finish:   part_in, dgamma, dbeta
// grad_input:    x, g_y, dy, g_stats, g_gamma, sum_gamma, sum_beta, dx
// grad_input_in_place: x, g_y, dy_dx, g_stats, g_gamma, sum_gamma, sum_beta
// check_health:  flags, step_loss
@group(0) @binding(1) var<storage, read> x: array<T1>;
@group(0) @binding(1) var<storage, read> part_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> part_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> g_part_out: array<f32>;

@group(0) @binding(2) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> save_stats: array<f32>;
// Set to 1 when a running statistic would become NaN or ±∞ (see check_health).
@group(0) @binding(5) var<storage, read_write> health: array<u32>;

@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<T5>;

@group(0) @binding(4) var<storage, read> eval_mean: array<f32>;
@group(0) @binding(5) var<storage, read> eval_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> eval_y: array<T6>;

// The forward's output: with ReLU fused, dy only flows where it is positive (x again otherwise).
@group(0) @binding(2) var<storage, read> g_y: array<T2>;
@group(0) @binding(3) var<storage, read> dy: array<T3>;
@group(0) @binding(4) var<storage, read> g_stats: array<f32>;
@group(0) @binding(5) var<storage, read> g_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> sum_gamma: array<f32>;
@group(0) @binding(7) var<storage, read> sum_beta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<T8>;
// grad_input_in_place: dy, overwritten with dx (the backward's caller owns dy and is done with it).
@group(0) @binding(3) var<storage, read_write> dy_dx: array<T3>;

@group(0) @binding(2) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbeta: array<f32>;

// The two per-chunk sums of a partial pass, across its BN_WG threads (wg_sum of the prelude).
fn reduce2(lid: u32, v: vec2<f32>) -> vec2<f32> { return wg_sum(lid, BN_WG, vec4<f32>(v, 0.0, 0.0)).xy; }

fn xv(i: u32) -> f32 { return f32(x[i]); }

// Element j (of N·H·W) of channel ch.
fn at_j(ch: u32, j: u32) -> u32 { return ((j / p.hw) * p.c + ch) * p.hw + j % p.hw; }

// The elements [start, end) of chunk k (never empty: the Rust side sizes the chunks).
fn chunk_start(k: u32) -> u32 { return k * p.chunk_len; }
fn chunk_end(k: u32) -> u32 { return min((k + 1u) * p.chunk_len, p.n * p.hw); }

// The activation after the affine map: ReLU when fused.
fn act(v: f32) -> f32 { return select(v, max(v, 0.0), p.relu != 0u); }

// The chunk functions take the elements j = first, first + stride, … of chunk k of channel ch
// (counted from the chunk's start) and return their share; the caller reduces the shares across
// its threads.
fn chunk_sum(ch: u32, k: u32, first: u32, stride: u32) -> f32 {
    var s = 0.0;
    for (var j = chunk_start(k) + first; j < chunk_end(k); j += stride) { s += xv(at_j(ch, j)); }
    return s;
}

fn chunk_sq_dev(ch: u32, k: u32, first: u32, stride: u32, mean: f32) -> f32 {
    var q = 0.0;
    for (var j = chunk_start(k) + first; j < chunk_end(k); j += stride) { let d = xv(at_j(ch, j)) - mean; q += d * d; }
    return q;
}

fn chunk_size(k: u32) -> f32 { return f32(chunk_end(k) - chunk_start(k)); }

fn write_stats_part(ch: u32, k: u32, mean_m2: vec2<f32>) {
    let o = 2u * (ch * p.chunks + k);
    part_out[o] = mean_m2.x;
    part_out[o + 1u] = mean_m2.y;
}

// Pass 1 forward: (mean, M2) of chunk wid.x of channel wid.y, M2 = Σ (x − chunk mean)².
@compute @workgroup_size(BN_WG)
fn stats_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let k = wid.x;
    let ch = wid.y;
    let lid = lid3.x;
    let mean = reduce2(lid, vec2<f32>(chunk_sum(ch, k, lid, BN_WG), 0.0)).x / chunk_size(k);
    let m2 = reduce2(lid, vec2<f32>(chunk_sq_dev(ch, k, lid, BN_WG, mean), 0.0)).x;
    if (lid == 0u) { write_stats_part(ch, k, vec2<f32>(mean, m2)); }
}

// The (chunk, channel) of a serial partial pass's thread, or none past the last.
fn serial_chunk(gid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let t = flat_index(gid, nwg);
    return select(vec2<u32>(t % p.chunks, t / p.chunks), vec2<u32>(0xffffffffu), t >= p.chunks * p.c);
}

// Pass 1 forward, one thread per chunk and channel.
@compute @workgroup_size(WG_1D)
fn stats_partial_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let kc = serial_chunk(gid, nwg);
    if (kc.y == 0xffffffffu) { return; }
    let mean = chunk_sum(kc.y, kc.x, 0u, 1u) / chunk_size(kc.x);
    write_stats_part(kc.y, kc.x, vec2<f32>(mean, chunk_sq_dev(kc.y, kc.x, 0u, 1u, mean)));
}

// Pass 2 forward: one thread per channel merges its chunks in order (Chan et al.: no large sums
// of squares, so no cancellation), keeps mean and rstd, updates the running statistics with the
// unbiased variance and flags non-finite ones.
@compute @workgroup_size(WG_1D)
fn stats_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    if (ch >= p.c) { return; }
    let m = p.n * p.hw;
    var count = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    for (var k = 0u; k < p.chunks; k++) {
        let o = 2u * (ch * p.chunks + k);
        let nb = chunk_size(k);
        let total = count + nb;
        let d = part_in[o] - mean;
        mean += d * (nb / total);
        m2 += part_in[o + 1u] + d * d * (count / total) * nb;
        count = total;
    }
    let var_b = m2 / f32(m);
    let rstd = inverseSqrt(var_b + p.eps);
    save_stats[ch] = mean;
    save_stats[p.c + ch] = rstd;
    let unbiased = m2 / f32(max(m, 2u) - 1u);
    let rm = (1.0 - p.momentum) * running_mean[ch] + p.momentum * mean;
    let rv = (1.0 - p.momentum) * running_var[ch] + p.momentum * unbiased;
    running_mean[ch] = rm;
    running_var[ch] = rv;
    if (!is_finite(rm) || !is_finite(rv)) { health[0] = 1u; }
}

// Pass 3 forward: y = act((x − mean)·rstd·gamma + beta), every element.
@compute @workgroup_size(WG_1D)
fn apply_train(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.hw) { return; }
    let ch = (i / p.hw) % p.c;
    let g = gamma[ch] * stats[p.c + ch];
    y[i] = T5(act(xv(i) * g + (beta[ch] - stats[ch] * g)));
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
    eval_y[i] = T6(act((xv(i) - eval_mean[ch]) * g + beta[ch]));
}

// dy (its value d at element i), masked by ReLU's y > 0 when fused.
fn masked(i: u32, d: f32) -> f32 { return select(d, 0.0, p.relu != 0u && f32(g_y[i]) <= 0.0); }
fn grad_in(i: u32) -> f32 { return masked(i, f32(dy[i])); }

// Training-mode backward (overwrites dx, dgamma, dbeta), with x̂ = (x − mean)·rstd, M = N·H·W and
// g = dy masked by y > 0 when ReLU is fused (ReLU's own backward), else dy:
// dbeta = Σ g, dgamma = Σ g·x̂, dx = gamma·rstd/M · (M·g − dbeta − x̂·dgamma).
// Pass 1: (Σg, Σg·x̂) of chunk k of channel ch, over the elements as chunk_sum's.
fn chunk_grad(ch: u32, k: u32, first: u32, stride: u32) -> vec2<f32> {
    let mean = g_stats[ch];
    let rstd = g_stats[p.c + ch];
    var acc = vec2<f32>(0.0);
    for (var j = chunk_start(k) + first; j < chunk_end(k); j += stride) {
        let i = at_j(ch, j);
        let gi = grad_in(i);
        acc += vec2<f32>(gi, gi * (xv(i) - mean) * rstd);
    }
    return acc;
}

fn write_grad_part(ch: u32, k: u32, sums: vec2<f32>) {
    let o = 2u * (ch * p.chunks + k);
    g_part_out[o] = sums.x;
    g_part_out[o + 1u] = sums.y;
}

// Chunk wid.x of channel wid.y.
@compute @workgroup_size(BN_WG)
fn grad_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let sums = reduce2(lid3.x, chunk_grad(wid.y, wid.x, lid3.x, BN_WG));
    if (lid3.x == 0u) { write_grad_part(wid.y, wid.x, sums); }
}

// One thread per chunk and channel.
@compute @workgroup_size(WG_1D)
fn grad_partial_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let kc = serial_chunk(gid, nwg);
    if (kc.y == 0xffffffffu) { return; }
    write_grad_part(kc.y, kc.x, chunk_grad(kc.y, kc.x, 0u, 1u));
}

// Pass 2: dbeta and dgamma, each channel's chunks summed in order by one thread.
@compute @workgroup_size(WG_1D)
fn grad_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    if (ch >= p.c) { return; }
    var s = vec2<f32>(0.0);
    for (var k = 0u; k < p.chunks; k++) {
        let o = 2u * (ch * p.chunks + k);
        s += vec2<f32>(part_in[o], part_in[o + 1u]);
    }
    dbeta[ch] = s.x;
    dgamma[ch] = s.y;
}

// Pass 3: dx, every element.
@compute @workgroup_size(WG_1D)
fn grad_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.hw) { return; }
    dx[i] = T8(dx_of(i, grad_in(i)));
}

// Pass 3 over dy's own memory: the same dx, written where dy was (each element reads its dy
// before it writes; no element reads another's), so the backward needs no activation-sized output.
@compute @workgroup_size(WG_1D)
fn grad_input_in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.c * p.hw) { return; }
    dy_dx[i] = T3(dx_of(i, masked(i, f32(dy_dx[i]))));
}

// dx at element i from its masked dy g (pass 3 of both entry points: one expression, same bits).
fn dx_of(i: u32, g: f32) -> f32 {
    let ch = (i / p.hw) % p.c;
    let m = f32(p.n * p.hw);
    let rstd = g_stats[p.c + ch];
    let xhat = (xv(i) - g_stats[ch]) * rstd;
    return g_gamma[ch] * rstd / m * (m * g - sum_beta[ch] - xhat * sum_gamma[ch]);
}
