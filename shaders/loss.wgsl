// The fused CS-KD loss (docs/ALGORITHM.md), forward and gradient in one pass per anchor row.
// Shapes: za, zp, dza (B, K) logits; labels (B) u32; rows (B, 2) = per-row (CE, T²·KL); loss (4).
// With T the temperature, λ the weight and ε the label smoothing:
//   CE_row  = −Σ_k t_k · log softmax(za)_k,  t = (1 − ε)·onehot(y) + ε/K
//   KL_row  = Σ_k q_k (log q_k − log p_k),   p = softmax(za/T), q = softmax(zp/T)
//   L       = mean CE_row + λ · T² · mean KL_row
//   dL/dza  = (softmax(za) − t)/B + λ·T·(p − q)/B      (zp is a constant: no gradient)
// Every log-probability is z − log-sum-exp with the max subtracted, so logits of ±100 stay finite.
// has_partner = 0 (plain CE, label smoothing) skips the KL term and never reads zp.
// Two thread mappings of the same row functions (src/ops/loss.rs picks one per kernel family):
// a workgroup per row, its threads splitting the classes and reducing across the workgroup
// (cskd_forward_backward, reduce_rows), or a thread per row, no barriers (the *_serial entries).

const WG: u32 = 64u; // threads per row of the workgroup mapping

struct Params { b: u32, k: u32, has_partner: u32, _p0: u32, t: f32, lambda: f32, eps: f32, _p1: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> za: array<f32>;
@group(0) @binding(2) var<storage, read> zp: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> dza: array<f32>;
@group(0) @binding(5) var<storage, read_write> rows: array<f32>;

@group(0) @binding(1) var<storage, read> row_losses: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;

// The row functions take the classes j = first, first + stride, … of the row starting at `base`
// and return their share; the caller reduces the shares across its threads.

// Pass 1: maxima of za and zp.
fn row_max(base: u32, first: u32, stride: u32) -> vec4<f32> {
    var mx = vec4<f32>(-3.4e38);
    for (var j = first; j < p.k; j += stride) {
        mx.x = max(mx.x, za[base + j]);
        if (p.has_partner != 0u) { mx.y = max(mx.y, zp[base + j]); }
    }
    return mx;
}

// The target probability t_j of class j for label y.
fn target_prob(j: u32, y: u32) -> f32 { return p.eps / f32(p.k) + select(0.0, 1.0 - p.eps, j == y); }

// Pass 2: Σ exp(za − ma), Σ exp((za − ma)/T), Σ exp((zp − mp)/T), Σ t_k·za_k (mx: pass 1's maxima).
fn row_sums(base: u32, y: u32, first: u32, stride: u32, mx: vec4<f32>) -> vec4<f32> {
    let inv_t = 1.0 / p.t;
    var s = vec4<f32>(0.0);
    for (var j = first; j < p.k; j += stride) {
        let a = za[base + j];
        s.x += exp(a - mx.x);
        s.w += target_prob(j, y) * a;
        if (p.has_partner != 0u) {
            s.y += exp((a - mx.x) * inv_t);
            s.z += exp((zp[base + j] - mx.y) * inv_t);
        }
    }
    return s;
}

// The log-sum-exps (log Σ exp(za), log Σ exp(za/T), log Σ exp(zp/T)) and CE from passes 1 and 2:
// Σ t = 1, so −Σ t·(za − lse) = lse − Σ t·za.
fn row_lse(mx: vec4<f32>, s: vec4<f32>) -> vec4<f32> {
    let inv_t = 1.0 / p.t;
    let lse_a = mx.x + log(s.x);
    return vec4<f32>(lse_a, mx.x * inv_t + log(s.y), mx.y * inv_t + log(s.z), lse_a - s.w);
}

// Pass 3: writes the gradient of its classes; returns their Σ q·(log q − log p).
fn row_grad(base: u32, y: u32, first: u32, stride: u32, lse: vec4<f32>) -> f32 {
    let inv_t = 1.0 / p.t;
    let inv_b = 1.0 / f32(p.b);
    var kl = 0.0;
    for (var j = first; j < p.k; j += stride) {
        let a = za[base + j];
        var g = exp(a - lse.x) - target_prob(j, y);
        if (p.has_partner != 0u) {
            let log_p = a * inv_t - lse.y;
            let log_q = zp[base + j] * inv_t - lse.z;
            let q = exp(log_q);
            kl += q * (log_q - log_p);
            g += p.lambda * p.t * (exp(log_p) - q);
        }
        dza[base + j] = g * inv_b;
    }
    return kl;
}

fn write_row(row: u32, lse: vec4<f32>, kl: f32) {
    rows[row * 2u] = lse.w;
    rows[row * 2u + 1u] = select(0.0, p.t * p.t * kl, p.has_partner != 0u);
}

// One workgroup of WG threads per row.
@compute @workgroup_size(WG)
fn cskd_forward_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let row = wid.x + wid.y * 65535u;
    if (row >= p.b) { return; } // uniform per workgroup: barriers below stay in uniform control flow
    let lid = lid3.x;
    let base = row * p.k;
    let y = labels[row];
    let mx = wg_max(lid, WG, row_max(base, lid, WG));
    let lse = row_lse(mx, wg_sum(lid, WG, row_sums(base, y, lid, WG, mx)));
    let kl = wg_sum(lid, WG, vec4<f32>(row_grad(base, y, lid, WG, lse), 0.0, 0.0, 0.0)).x;
    if (lid == 0u) { write_row(row, lse, kl); }
}

// One thread per row (a 1-D grid), no barriers.
@compute @workgroup_size(WG_1D)
fn cskd_forward_backward_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = flat_index(gid, nwg);
    if (row >= p.b) { return; }
    let base = row * p.k;
    let y = labels[row];
    let mx = row_max(base, 0u, 1u);
    let lse = row_lse(mx, row_sums(base, y, 0u, 1u, mx));
    write_row(row, lse, row_grad(base, y, 0u, 1u, lse));
}

// The rows r = first, first + stride, …: (Σ CE, Σ T²·KL).
fn rows_sum(first: u32, stride: u32) -> vec4<f32> {
    var s = vec4<f32>(0.0);
    for (var r = first; r < p.b; r += stride) { s += vec4<f32>(row_losses[2u * r], row_losses[2u * r + 1u], 0.0, 0.0); }
    return s;
}

// loss = (L, mean CE, mean T²·KL, 0) from the sums over all rows.
fn write_loss(s: vec4<f32>) {
    let ce = s.x / f32(p.b);
    let kl = s.y / f32(p.b);
    loss[0] = ce + p.lambda * kl;
    loss[1] = ce;
    loss[2] = kl;
    loss[3] = 0.0;
}

// One workgroup.
@compute @workgroup_size(WG)
fn reduce_rows(@builtin(local_invocation_id) lid3: vec3<u32>) {
    let s = wg_sum(lid3.x, WG, rows_sum(lid3.x, WG));
    if (lid3.x == 0u) { write_loss(s); }
}

// One thread, the rows in order.
@compute @workgroup_size(1)
fn reduce_rows_serial() { write_loss(rows_sum(0u, 1u)); }
