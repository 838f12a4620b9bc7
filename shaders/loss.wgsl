// The fused CS-KD loss (docs/ALGORITHM.md), one workgroup per anchor row, forward and gradient in one pass.
// Shapes: za, zp, dza (B, K) logits; labels (B) u32; rows (B, 2) = per-row (CE, T²·KL); loss (4).
// With T the temperature, λ the weight and ε the label smoothing:
//   CE_row  = −Σ_k t_k · log softmax(za)_k,  t = (1 − ε)·onehot(y) + ε/K
//   KL_row  = Σ_k q_k (log q_k − log p_k),   p = softmax(za/T), q = softmax(zp/T)
//   L       = mean CE_row + λ · T² · mean KL_row
//   dL/dza  = (softmax(za) − t)/B + λ·T·(p − q)/B      (zp is a constant: no gradient)
// Every log-probability is z − log-sum-exp with the max subtracted, so logits of ±100 stay finite.
// has_partner = 0 (plain CE, label smoothing) skips the KL term and never reads zp.

const WG: u32 = 64u; // threads per row (wg_sum/wg_max in prelude.wgsl reduce across them)

struct Params { b: u32, k: u32, has_partner: u32, _p0: u32, t: f32, lambda: f32, eps: f32, _p1: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> za: array<f32>;
@group(0) @binding(2) var<storage, read> zp: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> dza: array<f32>;
@group(0) @binding(5) var<storage, read_write> rows: array<f32>;

@group(0) @binding(1) var<storage, read> row_losses: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(WG)
fn cskd_forward_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let row = wid.x + wid.y * 65535u;
    if (row >= p.b) { return; } // uniform per workgroup: barriers below stay in uniform control flow
    let lid = lid3.x;
    let base = row * p.k;
    let y = labels[row];
    let part = p.has_partner != 0u;
    let inv_t = 1.0 / p.t;

    // Pass 1: maxima of za and zp.
    var mx = vec4<f32>(-3.4e38);
    for (var j = lid; j < p.k; j += WG) {
        mx.x = max(mx.x, za[base + j]);
        if (part) { mx.y = max(mx.y, zp[base + j]); }
    }
    mx = wg_max(lid, WG, mx);
    let ma = mx.x;
    let mp = mx.y;

    // Pass 2: Σ exp(za − ma), Σ exp((za − ma)/T), Σ exp((zp − mp)/T), Σ t_k·za_k.
    let off = p.eps / f32(p.k);
    var s = vec4<f32>(0.0);
    for (var j = lid; j < p.k; j += WG) {
        let a = za[base + j];
        s.x += exp(a - ma);
        s.w += (off + select(0.0, 1.0 - p.eps, j == y)) * a;
        if (part) {
            s.y += exp((a - ma) * inv_t);
            s.z += exp((zp[base + j] - mp) * inv_t);
        }
    }
    s = wg_sum(lid, WG, s);
    let lse_a = ma + log(s.x);              // log Σ exp(za)
    let lse_at = ma * inv_t + log(s.y);     // log Σ exp(za/T)
    let lse_pt = mp * inv_t + log(s.z);     // log Σ exp(zp/T)
    let ce = lse_a - s.w;                   // Σ t = 1, so −Σ t·(za − lse) = lse − Σ t·za

    // Pass 3: gradient, and Σ q·(log q − log p).
    let inv_b = 1.0 / f32(p.b);
    var kl = 0.0;
    for (var j = lid; j < p.k; j += WG) {
        let a = za[base + j];
        var g = exp(a - lse_a) - (off + select(0.0, 1.0 - p.eps, j == y));
        if (part) {
            let log_p = a * inv_t - lse_at;
            let log_q = zp[base + j] * inv_t - lse_pt;
            let q = exp(log_q);
            kl += q * (log_q - log_p);
            g += p.lambda * p.t * (exp(log_p) - q);
        }
        dza[base + j] = g * inv_b;
    }
    let klsum = wg_sum(lid, WG, vec4<f32>(kl, 0.0, 0.0, 0.0)).x;
    if (lid == 0u) {
        rows[row * 2u] = ce;
        rows[row * 2u + 1u] = select(0.0, p.t * p.t * klsum, part);
    }
}

// loss = (L, mean CE, mean T²·KL, 0). One workgroup.
@compute @workgroup_size(WG)
fn reduce_rows(@builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    var s = vec4<f32>(0.0);
    for (var r = lid; r < p.b; r += WG) { s += vec4<f32>(row_losses[2u * r], row_losses[2u * r + 1u], 0.0, 0.0); }
    s = wg_sum(lid, WG, s);
    if (lid == 0u) {
        let ce = s.x / f32(p.b);
        let kl = s.y / f32(p.b);
        loss[0] = ce + p.lambda * kl;
        loss[1] = ce;
        loss[2] = kl;
        loss[3] = 0.0;
    }
}
