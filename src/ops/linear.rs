//! Linear layer (matmul + bias) on the strided matmul kernel.
//! Shapes: x (N, I); w (O, I) as PyTorch; b (O); y (N, O).

use crate::gpu::{groups, Kernel, KernelFamily, Recorder, Tensor};
use crate::tape::{Tape, Var};

const MATMUL: Kernel = Kernel::new("matmul_generic", "matmul");
const BIAS_GRAD: Kernel = Kernel::new("matmul_generic", "bias_grad");

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    has_bias: u32,
    sam: u32,
    sak: u32,
    sbk: u32,
    sbn: u32,
}

/// A shared-family GEMM tile (shaders/conv2d_shared.wgsl, matmul_shared.wgsl): BM×BN outputs
/// per workgroup, TM×TN per thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tile {
    pub bm: usize,
    pub bn: usize,
    pub tm: usize,
    pub tn: usize,
}

impl Tile {
    const fn new(bm: usize, bn: usize, tm: usize, tn: usize) -> Tile {
        Tile { bm, bn, tm, tn }
    }
    pub(crate) fn threads(self) -> usize {
        (self.bm / self.tm) * (self.bn / self.tn)
    }
    /// Workgroups covering an M×N output.
    pub(crate) fn groups(self, m: usize, n: usize) -> usize {
        m.div_ceil(self.bm) * n.div_ceil(self.bn)
    }
    /// The pipeline constants that size the kernels to this tile.
    pub(crate) fn consts(self) -> [(&'static str, f64); 5] {
        [
            ("BM", self.bm as f64),
            ("BN", self.bn as f64),
            ("TM", self.tm as f64),
            ("TN", self.tn as f64),
            ("WG", self.threads() as f64),
        ]
    }
}

/// The shared family's tiles, largest first. 8×8 per thread on the big tiles (128 threads): 64
/// accumulators and 4 vec4 reads of workgroup memory per 64 FMAs, ~100 registers a thread, which
/// a GPU's register file holds at full occupancy of 128-thread groups (256 threads at 8×4 would
/// read 3 vec4s per 32 FMAs). 8×4 on the 4096-output tiles keeps 128 threads; 32×32 at 4×4 (64
/// threads) serves skinny GEMMs (conv1's 32×27 weight gradient) and split-K. Every tile keeps
/// WG ≥ BM, BN (the m-fast loaders' one column per thread) and fits 12 KiB of two stages.
const TILES: [Tile; 6] = [
    Tile::new(128, 64, 8, 8),
    Tile::new(64, 128, 8, 8),
    Tile::new(64, 64, 8, 4),
    Tile::new(128, 32, 8, 4),
    Tile::new(32, 128, 4, 8),
    Tile::new(32, 32, 4, 4),
];

/// Workgroups that give a large GPU about one per core (SM / CU); below it smaller tiles win.
const FILL_GROUPS: usize = 128;

/// The shared family's tile for an M×N GEMM: among the tiles whose padding is within 1/8 of the
/// least, the largest that still makes `FILL_GROUPS` workgroups (else the smallest). `split`
/// (split-K, whose splits fill the device): the largest.
pub(crate) fn shared_tile(m: usize, n: usize, split: bool) -> Tile {
    let padded = |t: &Tile| t.groups(m, n) * t.bm * t.bn;
    let least = TILES.iter().map(padded).min().unwrap_or(0);
    let mut fit = TILES.iter().filter(|t| 8 * padded(t) <= 9 * least);
    let first = *fit.clone().next().unwrap_or(&TILES[5]);
    if split {
        return first;
    }
    fit.clone()
        .find(|t| t.groups(m, n) >= FILL_GROUPS)
        .or(fit.next_back())
        .copied()
        .unwrap_or(first)
}

/// C (M, N) = A·B (+ bias), with A (M, K) at a[m·sam + k·sak] and B (K, N) at b[k·sbk + n·sbn].
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided(
    rec: &mut Recorder<'_>,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    (m, n, k): (usize, usize, usize),
    (sam, sak): (usize, usize),
    (sbk, sbn): (usize, usize),
    out: Option<&Tensor>,
) -> Tensor {
    let c = rec.alloc_or(out, &[m, n]);
    rec.set_op(
        crate::gpu::profile::OpFamily::Matmul,
        2.0 * (m * n * k) as f64,
    );
    let p = Params {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        has_bias: bias.is_some() as u32,
        sam: sam as u32,
        sak: sak as u32,
        sbk: sbk as u32,
        sbn: sbn as u32,
    };
    // Unread when has_bias = 0, but every binding needs a buffer (and not `c`: read and write may not alias).
    let dummy;
    let bias = match bias {
        Some(b) => b,
        None => {
            dummy = rec.alloc(&[4]);
            &dummy
        }
    };
    if rec.gpu.family() == KernelFamily::Shared
        && KernelFamily::shared_fits(&rec.gpu.limits)
        && m.div_ceil(32) <= rec.gpu.limits.max_compute_workgroups_per_dimension as usize
    {
        // Shared-memory tiles (any strides): stage along k where the operand is contiguous in k.
        let tile = shared_tile(m, n, false);
        let [c0, c1, c2, c3, c4] = tile.consts();
        let consts = [
            ("AKF", (sak == 1) as u32 as f64),
            ("BKF", (sbk == 1) as u32 as f64),
            c0,
            c1,
            c2,
            c3,
            c4,
        ];
        rec.dispatch(
            Kernel::with("matmul_shared", "matmul", &consts),
            &p,
            &[a, b, bias, &c],
            [groups(n, tile.bn), groups(m, tile.bm), 1],
        );
        return c;
    }
    // Fast path (`matmul4`): sizes multiples of 4 and each operand contiguous along one of its
    // dimensions, so every load is a vec4; TA / TB say which dimension.
    let ta = match (sam, sak) {
        (s, 1) if s == k => Some(false),
        (1, s) if s == m => Some(true),
        _ => None,
    };
    let tb = match (sbk, sbn) {
        (s, 1) if s == n => Some(false),
        (1, s) if s == k => Some(true),
        _ => None,
    };
    if let (Some(ta), Some(tb), true) = (
        ta,
        tb,
        m % 4 == 0 && n % 4 == 0 && k % 4 == 0 && rec.gpu.family() != KernelFamily::Compact,
    ) {
        let consts: &'static [(&'static str, f64)] = match (ta, tb) {
            (false, false) => &[("TA", 0.0), ("TB", 0.0)],
            (false, true) => &[("TA", 0.0), ("TB", 1.0)],
            (true, false) => &[("TA", 1.0), ("TB", 0.0)],
            (true, true) => &[("TA", 1.0), ("TB", 1.0)],
        };
        // 8×8 threads per workgroup, an 8×8 tile of C each.
        rec.dispatch(
            Kernel::with("matmul_tiled", "matmul4", consts),
            &p,
            &[a, b, bias, &c],
            [groups(n, 64), groups(m, 64), 1],
        );
        return c;
    }
    rec.dispatch(
        MATMUL,
        &p,
        &[a, b, bias, &c],
        [groups(n, 64), groups(m, 64), 1],
    );
    c
}

/// Row-major C = A·B with A (M, K), B (K, N).
pub fn matmul(rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor) -> Tensor {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    assert_eq!(b.shape()[0], k, "matmul: inner dimensions differ");
    matmul_strided(rec, a, b, None, (m, n, k), (k, 1), (n, 1), None)
}

pub fn forward(rec: &mut Recorder<'_>, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
    let (n, i, o) = (x.shape()[0], x.shape()[1], w.shape()[0]);
    assert_eq!(
        w.shape()[1],
        i,
        "linear: input has {i} features, weight expects {}",
        w.shape()[1]
    );
    // y = x·Wᵀ: B[k=i, n=o] = W[o, i] at o·I + i.
    matmul_strided(rec, x, w, b, (n, o, i), (i, 1), (1, i), None)
}

/// dx (N, I) = dy (N, O) · W (O, I)
pub fn backward_input(rec: &mut Recorder<'_>, dy: &Tensor, w: &Tensor) -> Tensor {
    matmul(rec, dy, w)
}

/// dW (O, I) = dyᵀ · x (into `out` if given): A[m=o, k=n] = dy[n, o] at n·O + o.
pub fn backward_weight(
    rec: &mut Recorder<'_>,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    let (n, o, i) = (dy.shape()[0], dy.shape()[1], x.shape()[1]);
    matmul_strided(rec, dy, x, None, (o, i, n), (1, o), (i, 1), out)
}

/// db (O) = Σ_n dy[n, :] (into `out` if given)
pub fn backward_bias(rec: &mut Recorder<'_>, dy: &Tensor, out: Option<&Tensor>) -> Tensor {
    let (n, o) = (dy.shape()[0], dy.shape()[1]);
    let db = rec.alloc_or(out, &[o]);
    let p = Params {
        m: n as u32,
        n: o as u32,
        k: 0,
        has_bias: 0,
        sam: 0,
        sak: 0,
        sbk: 0,
        sbn: 0,
    };
    rec.dispatch(BIAS_GRAD, &p, &[dy, &db], [groups(o, 64), 1, 1]);
    db
}

pub fn linear(rec: &mut Recorder<'_>, tape: &mut Tape, x: &Var, w: &Var, b: &Var) -> Var {
    let y = forward(rec, &x.value, &w.value, Some(&b.value));
    let (xv, wv) = (x.value.clone(), w.value.clone());
    tape.record(
        &[x, w, b],
        y,
        Box::new(move |rec, dy, wants| {
            vec![
                wants[0].any().then(|| backward_input(rec, dy, &wv)),
                wants[1]
                    .any()
                    .then(|| backward_weight(rec, dy, &xv, wants[1].target())),
                wants[2]
                    .any()
                    .then(|| backward_bias(rec, dy, wants[2].target())),
            ]
        }),
    )
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(
        Params,
        ["matmul_generic", "matmul_tiled", "matmul_shared"],
        [m, n, k, has_bias, sam, sak, sbk, sbn]
    )
}
