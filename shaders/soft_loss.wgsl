// The soft-target loss of the new methods (docs/METHODS.md): mixup/CutMix targets, PS-KD targets,
// the class-wise KL of CS-KD and Hinton KD from a teacher, forward and gradient in one pass per
// anchor row. CE / LS / CS-KD without these options keep the fused kernel (loss.wgsl).
// Shapes: za, zp, zt, dza (B, K); info (B, 3) u32 = (y, y_b, image index); prev (N, K); rows (B, 3).
//   target   t = (1 − ε)·[(1 − α)·(m·onehot(y) + (1 − m)·onehot(y_b)) + α·prev[idx]] + ε/K
//   CE_row   = −Σ t·log softmax(za)
//   CLS_row  = T²·KL(softmax(zp/T) ‖ softmax(za/T))            (has_partner)
//   KD_row   = Tk²·KL(softmax(zt/Tk) ‖ softmax(za/Tk))          (has_teacher)
//   L        = mean CE + λ·mean CLS + λk·mean KD
//   dL/dza   = [softmax(za) − t + λ·T·(softmax(za/T) − q) + λk·Tk·(softmax(za/Tk) − r)] / B
// With has_prev, the row's softmax(za) then replaces prev[idx] (read first, by the same thread):
// the prediction the next epoch's PS-KD target uses. zp, zt, prev are constants (no gradient).
// Two thread mappings of the same row functions, as in loss.wgsl (src/ops/soft_loss.rs picks one
// per kernel family): a workgroup per row reducing across its threads, or a thread per row with
// no barriers (the *_serial entries).

const WG: u32 = 64u; // threads per row of the workgroup mapping

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

// One anchor row: where its logits start, its labels and its PS-KD prediction row.
struct Row { base: u32, y: u32, yb: u32, pbase: u32 }

fn row_of(r: u32) -> Row {
    return Row(r * p.k, info[3u * r], info[3u * r + 1u], info[3u * r + 2u] * p.k);
}

// The row functions take the classes j = first, first + stride, … of row `r` and return their
// share; the caller reduces the shares across its threads.

// Pass 1: maxima of za, zp, zt.
fn row_max(r: Row, first: u32, stride: u32) -> vec4<f32> {
    var mx = vec4<f32>(-3.4e38);
    for (var j = first; j < p.k; j += stride) {
        mx.x = max(mx.x, za[r.base + j]);
        if (p.has_partner != 0u) { mx.y = max(mx.y, zp[r.base + j]); }
        if (p.has_teacher != 0u) { mx.z = max(mx.z, zt[r.base + j]); }
    }
    return mx;
}

// Pass 2: the exponential sums of the log-sum-exps and Σ t·za: s = (Σ exp(za − ma),
// Σ exp((za − ma)/T), Σ exp((zp − mp)/T), Σ t·za), s2.xy = (Σ exp((za − ma)/Tk), Σ exp((zt − mt)/Tk)).
fn row_sums(r: Row, first: u32, stride: u32, mx: vec4<f32>) -> array<vec4<f32>, 2> {
    let inv_t = 1.0 / p.t;
    let inv_tk = 1.0 / p.t_kd;
    var s = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    for (var j = first; j < p.k; j += stride) {
        let a = za[r.base + j];
        s.x += exp(a - mx.x);
        s.w += target_prob(j, r.y, r.yb, r.pbase) * a;
        if (p.has_partner != 0u) {
            s.y += exp((a - mx.x) * inv_t);
            s.z += exp((zp[r.base + j] - mx.y) * inv_t);
        }
        if (p.has_teacher != 0u) {
            s2.x += exp((a - mx.x) * inv_tk);
            s2.y += exp((zt[r.base + j] - mx.z) * inv_tk);
        }
    }
    return array<vec4<f32>, 2>(s, s2);
}

// The log-sum-exps of za, za/T, zp/T, za/Tk, zt/Tk, and CE (Σ t = 1), from passes 1 and 2.
struct Lse { a: f32, at: f32, pt: f32, ak: f32, tk: f32, ce: f32 }

fn row_lse(mx: vec4<f32>, s: vec4<f32>, s2: vec4<f32>) -> Lse {
    let inv_t = 1.0 / p.t;
    let inv_tk = 1.0 / p.t_kd;
    let lse_a = mx.x + log(s.x);
    return Lse(lse_a, mx.x * inv_t + log(s.y), mx.y * inv_t + log(s.z),
               mx.x * inv_tk + log(s2.x), mx.z * inv_tk + log(s2.y), lse_a - s.w);
}

// Pass 3: writes the gradient of its classes (and their prediction for the next epoch); returns
// their two KL sums (class-wise, teacher).
fn row_grad(r: Row, first: u32, stride: u32, l: Lse) -> vec4<f32> {
    let inv_t = 1.0 / p.t;
    let inv_tk = 1.0 / p.t_kd;
    let inv_b = 1.0 / f32(p.b);
    var kl = vec4<f32>(0.0);
    for (var j = first; j < p.k; j += stride) {
        let a = za[r.base + j];
        let sm = exp(a - l.a);
        var g = sm - target_prob(j, r.y, r.yb, r.pbase);
        if (p.has_partner != 0u) {
            let log_p = a * inv_t - l.at;
            let log_q = zp[r.base + j] * inv_t - l.pt;
            let q = exp(log_q);
            kl.x += q * (log_q - log_p);
            g += p.lambda * p.t * (exp(log_p) - q);
        }
        if (p.has_teacher != 0u) {
            let log_p = a * inv_tk - l.ak;
            let log_r = zt[r.base + j] * inv_tk - l.tk;
            let q = exp(log_r);
            kl.y += q * (log_r - log_p);
            g += p.lambda_kd * p.t_kd * (exp(log_p) - q);
        }
        dza[r.base + j] = g * inv_b;
        if (p.has_prev != 0u) { prev[r.pbase + j] = sm; }
    }
    return kl;
}

fn write_row(row: u32, l: Lse, kl: vec4<f32>) {
    rows[row * 3u] = l.ce;
    rows[row * 3u + 1u] = select(0.0, p.t * p.t * kl.x, p.has_partner != 0u);
    rows[row * 3u + 2u] = select(0.0, p.t_kd * p.t_kd * kl.y, p.has_teacher != 0u);
}

// One workgroup of WG threads per row.
@compute @workgroup_size(WG)
fn soft_forward_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let row = wid.x + wid.y * 65535u;
    if (row >= p.b) { return; } // uniform per workgroup
    let lid = lid3.x;
    let r = row_of(row);
    let mx = wg_max(lid, WG, row_max(r, lid, WG));
    let s = row_sums(r, lid, WG, mx);
    let l = row_lse(mx, wg_sum(lid, WG, s[0]), wg_sum(lid, WG, s[1]));
    let kl = wg_sum(lid, WG, row_grad(r, lid, WG, l));
    if (lid == 0u) { write_row(row, l, kl); }
}

// One thread per row (a 1-D grid), no barriers.
@compute @workgroup_size(WG_1D)
fn soft_forward_backward_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = flat_index(gid, nwg);
    if (row >= p.b) { return; }
    let r = row_of(row);
    let mx = row_max(r, 0u, 1u);
    let s = row_sums(r, 0u, 1u, mx);
    let l = row_lse(mx, s[0], s[1]);
    write_row(row, l, row_grad(r, 0u, 1u, l));
}

// The rows r = first, first + stride, …: (Σ CE, Σ T²·KL, Σ Tk²·KL).
fn rows_sum(first: u32, stride: u32) -> vec4<f32> {
    var s = vec4<f32>(0.0);
    for (var r = first; r < p.b; r += stride) {
        s += vec4<f32>(row_losses[3u * r], row_losses[3u * r + 1u], row_losses[3u * r + 2u], 0.0);
    }
    return s;
}

// loss = (L, mean CE, L − mean CE, 0) from the sums over all rows.
fn write_loss(s: vec4<f32>) {
    let ce = s.x / f32(p.b);
    let reg = p.lambda * s.y / f32(p.b) + p.lambda_kd * s.z / f32(p.b);
    loss[0] = ce + reg;
    loss[1] = ce;
    loss[2] = reg;
    loss[3] = 0.0;
}

// One workgroup.
@compute @workgroup_size(WG)
fn soft_reduce_rows(@builtin(local_invocation_id) lid3: vec3<u32>) {
    let s = wg_sum(lid3.x, WG, rows_sum(lid3.x, WG));
    if (lid3.x == 0u) { write_loss(s); }
}

// One thread, the rows in order.
@compute @workgroup_size(1)
fn soft_reduce_rows_serial() { write_loss(rows_sum(0u, 1u)); }
