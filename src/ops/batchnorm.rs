//! Batch normalisation 2-D as torch.nn.BatchNorm2d (eps 1e-5, momentum 0.1), optionally fused with
//! the ReLU that follows it. Training runs three dispatches each way (shaders/batchnorm.wgsl):
//! per-chunk partials (a workgroup per chunk and channel on GPUs, a thread on CPU adapters), a
//! per-channel merge, then an elementwise pass. The same kernels serve every family; only the
//! partial passes' threads and the chunking differ (`Chunking::for_family`).
//! Shapes: x, y (N, C, H, W); gamma, beta, running_mean, running_var (C).

use crate::gpu::{grid_1d, groups, Dtype, Kernel, KernelFamily, Recorder, Tensor, WG_1D};
use crate::tape::{Tape, Var};

const FORWARD_EVAL: Kernel = Kernel::new("batchnorm", "forward_eval");
const CHECK_HEALTH: Kernel = Kernel::new("batchnorm", "check_health");
const STATS_FINISH: Kernel = Kernel::new("batchnorm", "stats_finish");
const APPLY_TRAIN: Kernel = Kernel::new("batchnorm", "apply_train");
const GRAD_FINISH: Kernel = Kernel::new("batchnorm", "grad_finish");
const GRAD_INPUT: Kernel = Kernel::new("batchnorm", "grad_input");
const GRAD_INPUT_IN_PLACE: Kernel = Kernel::new("batchnorm", "grad_input_in_place");

/// Threads per workgroup of the partial passes where they reduce across a workgroup.
const WORKGROUP_THREADS: usize = 256;

/// How the partial passes split each channel's M = N·H·W elements: `chunks` chunks of `len`
/// (the last one shorter, none empty), one workgroup of `threads` per chunk and channel, or one
/// thread per chunk and channel when `threads` is 1 (`KernelFamily::serial_reductions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    pub threads: u32,
    pub chunks: u32,
    pub len: u32,
}

impl Chunking {
    /// GPUs (shared): 256 threads, chunks of at most 4096 elements (16 per thread) and at least
    /// 256 workgroups where M allows a thread per element (W1: 32 channels at 32×32 → 512
    /// workgroups, 64 at 16×16 and 128 at 8×8 → 256; one per channel before). CPU adapters
    /// (tiled, compact; `KernelFamily::serial_reductions`): a thread per chunk of up to 1024
    /// elements, no barrier (on lavapipe W1's batch norm took 341 ms per CS-KD step with 256-thread
    /// tree reductions, 212 ms so, 195–211 ms with chunks of 256 or 4096; in Chromium the
    /// 32-thread tree kernels compiled 0.4–0.56 s each).
    pub fn for_family(family: KernelFamily, c: usize, m: usize) -> Chunking {
        let (threads, max_len, min_groups) = match family.serial_reductions() {
            true => (1, 1024, 1usize),
            false => (WORKGROUP_THREADS, 4096, 256),
        };
        let m = m.max(1);
        let chunks = m
            .div_ceil(max_len)
            .max(min_groups.div_ceil(c.max(1)))
            .min(m.div_ceil(threads))
            .max(1);
        let len = m.div_ceil(chunks);
        Chunking {
            threads: threads as u32,
            chunks: m.div_ceil(len) as u32,
            len: len as u32,
        }
    }

    fn of(rec: &Recorder<'_>, x: &Tensor) -> Chunking {
        let s = x.shape();
        Self::for_family(rec.gpu.family(), s[1], s[0] * s[2] * s[3])
    }

    /// A partial pass with this chunking's threads, and its grid for `c` channels.
    fn dispatch(&self, pass: Partial, c: usize) -> (Kernel<'static>, [u32; 3]) {
        let (workgroup, serial) = match pass {
            Partial::Stats => ("stats_partial", "stats_partial_serial"),
            Partial::Grad => ("grad_partial", "grad_partial_serial"),
        };
        const BN_WG: &[(&str, f64)] = &[("BN_WG", WORKGROUP_THREADS as f64)];
        match self.threads {
            1 => {
                let grid = grid_1d(self.chunks as usize * c, WG_1D);
                (Kernel::new("batchnorm", serial), grid)
            }
            _ => {
                let grid = [self.chunks, c as u32, 1];
                (Kernel::with("batchnorm", workgroup, BN_WG), grid)
            }
        }
    }
}

/// The two partial passes: the forward's statistics, the backward's sums.
#[derive(Clone, Copy)]
enum Partial {
    Stats,
    Grad,
}

pub const EPS: f32 = 1e-5;
pub const MOMENTUM: f32 = 0.1;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    hw: u32,
    momentum: f32,
    eps: f32,
    relu: u32,
    chunks: u32,
    chunk_len: u32,
}

fn params(x: &Tensor, relu: bool, ch: Chunking) -> Params {
    let s = x.shape();
    assert_eq!(s.len(), 4, "batch norm input must be NCHW");
    Params {
        n: s[0] as u32,
        c: s[1] as u32,
        hw: (s[2] * s[3]) as u32,
        momentum: MOMENTUM,
        eps: EPS,
        relu: relu as u32,
        chunks: ch.chunks,
        chunk_len: ch.len,
    }
}

/// What a training forward keeps for its backward: the batch statistics (2C: mean, then rstd,
/// in one tensor so that no kernel binds more than 8 storage buffers, WebGPU's default limit)
/// and, when ReLU was fused, the output (its sign is ReLU's mask).
#[derive(Clone)]
pub struct Saved {
    pub stats: Tensor,
    pub relu_output: Option<Tensor>,
}

/// Training mode: normalises with the batch statistics and updates the running ones in place,
/// then ReLU in the same pass when `relu`; sets `health[0]` to 1 when a running statistic
/// becomes non-finite.
pub fn forward_train(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running: (&Tensor, &Tensor),
    health: &Tensor,
    relu: bool,
) -> (Tensor, Saved) {
    let (running_mean, running_var) = running;
    let c = x.shape()[1];
    let ch = Chunking::of(rec, x);
    let p = params(x, relu, ch);
    let part = rec.alloc(&[2 * c * ch.chunks as usize]);
    let (y, stats) = (rec.alloc_as(x.shape(), x.dtype()), rec.alloc(&[2 * c]));
    let (partial, grid) = ch.dispatch(Partial::Stats, c);
    rec.dispatch(partial, &p, &[x, &part], grid);
    rec.dispatch(
        STATS_FINISH,
        &p,
        &[&part, running_mean, running_var, &stats, health],
        [groups(c, WG_1D), 1, 1],
    );
    rec.dispatch(
        APPLY_TRAIN,
        &p,
        &[x, gamma, beta, &stats, &y],
        grid_1d(x.numel(), WG_1D),
    );
    let relu_output = relu.then(|| y.clone());
    (y, Saved { stats, relu_output })
}

/// Evaluation mode: normalises with the running statistics, then ReLU when `relu`.
pub fn forward_eval(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running: (&Tensor, &Tensor),
    relu: bool,
) -> Tensor {
    let y = rec.alloc_as(x.shape(), x.dtype());
    rec.dispatch(
        FORWARD_EVAL,
        &params(x, relu, Chunking::of(rec, x)),
        &[x, gamma, beta, running.0, running.1, &y],
        grid_1d(x.numel(), WG_1D),
    );
    y
}

/// Training-mode backward (of BN, or of BN + ReLU when the forward fused it): (dx, dgamma,
/// dbeta), all overwritten; dgamma and dbeta land in `out` where given.
pub fn backward(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    saved: &Saved,
    out: (Option<&Tensor>, Option<&Tensor>),
) -> (Tensor, Tensor, Tensor) {
    backward_into(rec, x, dy, gamma, saved, out, false)
}

/// `backward` with dx written over dy, which the caller must own and no longer need (f32, not a
/// view): the backward then allocates no activation-sized tensor. Same bits as `backward`.
pub fn backward_in_place(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    saved: &Saved,
    out: (Option<&Tensor>, Option<&Tensor>),
) -> (Tensor, Tensor, Tensor) {
    assert_eq!(dy.dtype(), Dtype::F32, "dx is f32: dy must be too");
    assert_eq!(dy.shape(), x.shape(), "dy must have x's shape");
    backward_into(rec, x, dy, gamma, saved, out, true)
}

fn backward_into(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    saved: &Saved,
    out: (Option<&Tensor>, Option<&Tensor>),
    in_place: bool,
) -> (Tensor, Tensor, Tensor) {
    let c = x.shape()[1];
    let (dgamma, dbeta) = (rec.alloc_or(out.0, &[c]), rec.alloc_or(out.1, &[c]));
    // Without ReLU the mask input is not read: x stands in so the bindings stay the same.
    let y = saved.relu_output.as_ref().unwrap_or(x);
    let ch = Chunking::of(rec, x);
    let p = params(x, saved.relu_output.is_some(), ch);
    let part = rec.alloc(&[2 * c * ch.chunks as usize]);
    let stats = &saved.stats;
    let (partial, grid) = ch.dispatch(Partial::Grad, c);
    rec.dispatch(partial, &p, &[x, y, dy, stats, &part], grid);
    rec.dispatch(
        GRAD_FINISH,
        &p,
        &[&part, &dgamma, &dbeta],
        [groups(c, WG_1D), 1, 1],
    );
    let grid = grid_1d(x.numel(), WG_1D);
    let dx = if in_place {
        let bindings = [x, y, dy, stats, gamma, &dgamma, &dbeta];
        rec.dispatch(GRAD_INPUT_IN_PLACE, &p, &bindings, grid);
        dy.clone()
    } else {
        let dx = rec.alloc(x.shape());
        let bindings = [x, y, dy, stats, gamma, &dgamma, &dbeta, &dx];
        rec.dispatch(GRAD_INPUT, &p, &bindings, grid);
        dx
    };
    (dx, dgamma, dbeta)
}

/// After a step's loss: a NaN loss (and loss[3] = 1) if any batch norm flagged non-finite
/// running statistics in `health`, which is cleared. SGD then skips the step.
pub fn check_health(rec: &mut Recorder<'_>, health: &Tensor, loss: &Tensor) {
    let p = Params {
        n: 0,
        c: health.numel() as u32,
        hw: 0,
        momentum: 0.0,
        eps: 0.0,
        relu: 0,
        chunks: 0,
        chunk_len: 0,
    };
    rec.dispatch(CHECK_HEALTH, &p, &[health, loss], [1, 1, 1]);
}

/// Running statistics, the health flag and the mode of a tape-aware batch norm.
pub struct Bn<'a> {
    pub running_mean: &'a Tensor,
    pub running_var: &'a Tensor,
    pub health: &'a Tensor,
    /// Batch statistics (and running ones updated, non-finite ones flagged in `health`).
    pub train: bool,
    /// ReLU fused after the normalisation.
    pub relu: bool,
}

/// Tape-aware batch norm (optionally + ReLU): three dispatches forward, three backward.
pub fn batch_norm(
    rec: &mut Recorder<'_>,
    tape: &mut Tape,
    x: &Var,
    gamma: &Var,
    beta: &Var,
    bn: Bn<'_>,
) -> Var {
    let running = (bn.running_mean, bn.running_var);
    if !bn.train {
        let y = forward_eval(rec, &x.value, &gamma.value, &beta.value, running, bn.relu);
        return Var::constant(y);
    }
    let (y, saved) = forward_train(
        rec,
        &x.value,
        &gamma.value,
        &beta.value,
        running,
        bn.health,
        bn.relu,
    );
    let (xv, gv) = (x.value.clone(), gamma.value.clone());
    tape.record(
        &[x, gamma, beta],
        y,
        Box::new(move |rec, dy, wants| {
            let out = (wants[1].target(), wants[2].target());
            // The tape owns dy and drops it after this call: unshared, it can become dx.
            let own = dy.unshared() && dy.dtype() == Dtype::F32;
            let backward = if own { backward_in_place } else { backward };
            let (dx, dg, db) = backward(rec, &xv, dy, &gv, &saved, out);
            vec![
                wants[0].any().then_some(dx),
                wants[1].any().then_some(dg),
                wants[2].any().then_some(db),
            ]
        }),
    )
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(
        Params,
        ["batchnorm"],
        [n, c, hw, momentum, eps, relu, chunks, chunk_len]
    )
}
