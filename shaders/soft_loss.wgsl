// The soft-target loss of the new methods (docs/METHODS.md): mixup/CutMix targets, PS-KD targets,
// the class-wise KL of CS-KD and Hinton KD from a teacher, forward and gradient in one pass, one
// workgroup per anchor row. CE / LS / CS-KD without these options keep the fused kernel (loss.wgsl).
// Shapes: za, zp, zt, dza (B, K); info (B, 3) u32 = (y, y_b, image index); prev (N, K); rows (B, 3).
//   target   t = (1 − ε)·[(1 − α)·(m·onehot(y) + (1 − m)·onehot(y_b)) + α·prev[idx]] + ε/K
//   CE_row   = −Σ t·log softmax(za)
//   CLS_row  = T²·KL(softmax(zp/T) ‖ softmax(za/T))            (has_partner)
//   KD_row   = Tk²·KL(softmax(zt/Tk) ‖ softmax(za/Tk))          (has_teacher)
//   L        = mean CE + λ·mean CLS + λk·mean KD
//   dL/dza   = [softmax(za) − t + λ·T·(softmax(za/T) − q) + λk·Tk·(softmax(za/Tk) − r)] / B
// With has_prev, the row's softmax(za) then replaces prev[idx] (read first, by the same thread):
// the prediction the next epoch's PS-KD target uses. zp, zt, prev are constants (no gradient).

const WG: u32 = 64u; // threads per row (wg_sum/wg_max in prelude.wgsl reduce across them)

struct Params {
    b: u32, k: u32, has_partner: u32, has_teacher: u32,
    has_prev: u32, _p0: u32, _p1: u32, _p2: u32,
    t: f32, lambda: f32, t_kd: f32, lambda_kd: f32,
    mix: f32, alpha: f32, eps: f32, _p3: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> za: array<f32>;
@group(0) @binding(2) var<storage, read> zp: array<f32>;
@group(0) @binding(3) var<storage, read> zt: array<f32>;
@group(0) @binding(4) var<storage, read> info: array<u32>;
@group(0) @binding(5) var<storage, read_write> prev: array<f32>;
@group(0) @binding(6) var<storage, read_write> dza: array<f32>;
@group(0) @binding(7) var<storage, read_write> rows: array<f32>;

@group(0) @binding(1) var<storage, read> row_losses: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;

// The target probability of class j for this row.
fn target_prob(j: u32, y: u32, yb: u32, pbase: u32) -> f32 {
    let hard = select(0.0, p.mix, j == y) + select(0.0, 1.0 - p.mix, j == yb);
    var soft = hard;
    if (p.has_prev != 0u) { soft = (1.0 - p.alpha) * hard + p.alpha * prev[pbase + j]; }
    return (1.0 - p.eps) * soft + p.eps / f32(p.k);
}

@compute @workgroup_size(WG)
fn soft_forward_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let row = wid.x + wid.y * 65535u;
    if (row >= p.b) { return; } // uniform per workgroup
    let lid = lid3.x;
    let base = row * p.k;
    let y = info[3u * row];
    let yb = info[3u * row + 1u];
    let pbase = info[3u * row + 2u] * p.k;
    let part = p.has_partner != 0u;
    let teach = p.has_teacher != 0u;
    let inv_t = 1.0 / p.t;
    let inv_tk = 1.0 / p.t_kd;

    // Pass 1: maxima of za, zp, zt.
    var mx = vec4<f32>(-3.4e38);
    for (var j = lid; j < p.k; j += WG) {
        mx.x = max(mx.x, za[base + j]);
        if (part) { mx.y = max(mx.y, zp[base + j]); }
        if (teach) { mx.z = max(mx.z, zt[base + j]); }
    }
    mx = wg_max(lid, WG, mx);
    let ma = mx.x;
    let mp = mx.y;
    let mt = mx.z;

    // Pass 2: the log-sum-exps and Σ t·za.
    var s = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    for (var j = lid; j < p.k; j += WG) {
        let a = za[base + j];
        s.x += exp(a - ma);
        s.w += target_prob(j, y, yb, pbase) * a;
        if (part) {
            s.y += exp((a - ma) * inv_t);
            s.z += exp((zp[base + j] - mp) * inv_t);
        }
        if (teach) {
            s2.x += exp((a - ma) * inv_tk);
            s2.y += exp((zt[base + j] - mt) * inv_tk);
        }
    }
    s = wg_sum(lid, WG, s);
    s2 = wg_sum(lid, WG, s2);
    let lse_a = ma + log(s.x);
    let lse_at = ma * inv_t + log(s.y);
    let lse_pt = mp * inv_t + log(s.z);
    let lse_ak = ma * inv_tk + log(s2.x);
    let lse_tk = mt * inv_tk + log(s2.y);
    let ce = lse_a - s.w; // Σ t = 1

    // Pass 3: gradient, the two KL sums, and the prediction for the next epoch.
    let inv_b = 1.0 / f32(p.b);
    var kl = vec4<f32>(0.0);
    for (var j = lid; j < p.k; j += WG) {
        let a = za[base + j];
        let sm = exp(a - lse_a);
        var g = sm - target_prob(j, y, yb, pbase);
        if (part) {
            let log_p = a * inv_t - lse_at;
            let log_q = zp[base + j] * inv_t - lse_pt;
            let q = exp(log_q);
            kl.x += q * (log_q - log_p);
            g += p.lambda * p.t * (exp(log_p) - q);
        }
        if (teach) {
            let log_p = a * inv_tk - lse_ak;
            let log_r = zt[base + j] * inv_tk - lse_tk;
            let r = exp(log_r);
            kl.y += r * (log_r - log_p);
            g += p.lambda_kd * p.t_kd * (exp(log_p) - r);
        }
        dza[base + j] = g * inv_b;
        if (p.has_prev != 0u) { prev[pbase + j] = sm; }
    }
    kl = wg_sum(lid, WG, kl);
    if (lid == 0u) {
        rows[row * 3u] = ce;
        rows[row * 3u + 1u] = select(0.0, p.t * p.t * kl.x, part);
        rows[row * 3u + 2u] = select(0.0, p.t_kd * p.t_kd * kl.y, teach);
    }
}

// loss = (L, mean CE, L − mean CE, 0). One workgroup.
@compute @workgroup_size(WG)
fn soft_reduce_rows(@builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    var s = vec4<f32>(0.0);
    for (var r = lid; r < p.b; r += WG) {
        s += vec4<f32>(row_losses[3u * r], row_losses[3u * r + 1u], row_losses[3u * r + 2u], 0.0);
    }
    s = wg_sum(lid, WG, s);
    if (lid == 0u) {
        let ce = s.x / f32(p.b);
        let reg = p.lambda * s.y / f32(p.b) + p.lambda_kd * s.z / f32(p.b);
        loss[0] = ce + reg;
        loss[1] = ce;
        loss[2] = reg;
        loss[3] = 0.0;
    }
}
