//! `cskd bench kernels`: every op kernel, in the spirit of llm.c's `dev/cuda`. Each is first run at
//! a small odd shape and a small aligned one (multiples of 4 and 8: the vectorised fast paths) and
//! checked against `crate::reference` within a stated tolerance (a mismatch fails the run, naming
//! the kernel), then timed at W1's shapes (median of `reps` launches). The shader entry points W1's
//! shapes dispatch must all have been among those checked, else the run fails too.

use super::{max_rel_err, time};
use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Gpu, Recorder, Tensor};
use crate::ops::augment::{augment, Crop};
use crate::ops::conv2d::{self, ConvShape};
use crate::ops::loss::{cskd_loss, LossConfig};
use crate::ops::mix::{mix, MixDraw};
use crate::ops::soft_loss::{soft_loss, SoftLossConfig};
use crate::ops::{batchnorm, elementwise, linear, pool, sgd, softmax};
use crate::reference as r;
use crate::rng::Rng;
use serde::Serialize;

/// Where a kernel is timed: W1's shapes, or the small checked shape again (fast, for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelSize {
    W1,
    Small,
}

/// One kernel's check and timing.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelCheck {
    pub kernel: String,
    /// The small shapes checked: odd; aligned.
    pub checked_shape: String,
    /// Largest error relative to max(|reference|, 1) over every output element.
    pub max_err: f64,
    pub tolerance: f64,
    pub timed_shape: String,
    pub median_ms: f64,
    /// Conv and matmul kernels: achieved GFLOP/s.
    pub gflops: Option<f64>,
    /// The others: GB/s over the bytes of their inputs and outputs.
    pub gbs: Option<f64>,
    /// The kernels (`shader::entry`) the timed shape dispatches, all of them checked.
    pub dispatches: Vec<String>,
}

/// Records the kernel's launch(es); returns the outputs to check.
type Launch = Box<dyn Fn(&mut Recorder<'_>) -> Vec<Tensor>>;

/// A kernel built at one shape: how to launch it and, when checking, what it must produce.
struct Case {
    shape: String,
    run: Launch,
    want: Vec<Vec<f64>>,
    flops: f64,
    bytes: f64,
}

/// The shapes a builder makes: small odd (checked), small aligned (checked), W1's (timed).
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Odd,
    Aligned,
    W1,
}

/// Builder state: uploads and random data; the reference is computed for the small shapes.
struct Ctx<'a> {
    gpu: &'a Gpu,
    pool: &'a BufferPool,
    rng: Rng,
    shape: Shape,
    batch: usize,
}

impl Ctx<'_> {
    fn randn(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.normal() * scale).collect()
    }
    fn up<T: bytemuck::Pod>(&self, shape: &[usize], data: &[T]) -> Tensor {
        Tensor::from_slice(&self.gpu.device, &self.gpu.queue, shape, data)
    }
    /// The reference, only when checking (W1-sized references would take minutes on the CPU).
    fn want(&self, f: impl FnOnce() -> Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        if self.shape != Shape::W1 {
            f()
        } else {
            Vec::new()
        }
    }
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| a as f64).collect()
}

fn bytes(ts: &[&Tensor]) -> f64 {
    ts.iter().map(|t| t.bytes() as f64).sum()
}

type Build = fn(&mut Ctx) -> Case;

/// Every kernel: name, tolerance, builder.
const KERNELS: &[(&str, f64, Build)] = &[
    ("conv3x3s1.forward", 1e-4, |c| conv(c, 3, 1, Dir::Forward)),
    ("conv3x3s1.input_grad", 1e-4, |c| conv(c, 3, 1, Dir::Input)),
    ("conv3x3s1.weight_grad", 1e-4, |c| {
        conv(c, 3, 1, Dir::Weight)
    }),
    ("conv3x3s2.forward", 1e-4, |c| conv(c, 3, 2, Dir::Forward)),
    ("conv3x3s2.input_grad", 1e-4, |c| conv(c, 3, 2, Dir::Input)),
    ("conv3x3s2.weight_grad", 1e-4, |c| {
        conv(c, 3, 2, Dir::Weight)
    }),
    ("conv1x1.forward", 1e-4, |c| conv(c, 1, 1, Dir::Forward)),
    ("conv1x1.input_grad", 1e-4, |c| conv(c, 1, 1, Dir::Input)),
    ("conv1x1.weight_grad", 1e-4, |c| conv(c, 1, 1, Dir::Weight)),
    ("matmul", 1e-4, matmul),
    ("linear.forward", 1e-4, |c| linear_case(c, Dir::Forward)),
    ("linear.input_grad", 1e-4, |c| linear_case(c, Dir::Input)),
    ("linear.weight_grad", 1e-4, |c| linear_case(c, Dir::Weight)),
    ("linear.bias_grad", 1e-4, |c| linear_case(c, Dir::Bias)),
    ("batchnorm.train", 1e-3, |c| bn(c, Dir::Forward, false)),
    ("batchnorm.eval", 1e-4, |c| bn(c, Dir::Bias, false)),
    ("batchnorm.backward", 2e-3, |c| bn(c, Dir::Input, false)),
    ("batchnorm_relu.train", 1e-3, |c| bn(c, Dir::Forward, true)),
    ("batchnorm_relu.eval", 1e-4, |c| bn(c, Dir::Bias, true)),
    ("batchnorm_relu.backward", 2e-3, |c| bn(c, Dir::Input, true)),
    ("relu.forward", 0.0, |c| relu(c, false)),
    ("relu.backward", 0.0, |c| relu(c, true)),
    ("maxpool.forward", 0.0, |c| pool_case(c, false, false)),
    ("maxpool.backward", 1e-6, |c| pool_case(c, false, true)),
    ("avgpool.forward", 1e-5, |c| pool_case(c, true, false)),
    ("avgpool.backward", 1e-5, |c| pool_case(c, true, true)),
    ("cskd_loss", 1e-5, cskd),
    ("soft_loss", 1e-5, soft),
    ("mix", 1e-5, mix_case),
    ("sgd", 1e-5, sgd_case),
    ("augment", 1e-5, augment_case),
    ("softmax", 1e-5, softmax_case),
];

/// The names `--only` can select from.
pub fn kernel_names() -> Vec<&'static str> {
    KERNELS.iter().map(|k| k.0).collect()
}

/// Checks then times every kernel whose name contains `only` (all when `None`) on the adapter's
/// current kernel family; `batch` is W1's images per conv (its anchors).
pub async fn kernels(
    gpu: &Gpu,
    only: Option<&str>,
    batch: usize,
    reps: usize,
    size: KernelSize,
) -> Result<Vec<KernelCheck>> {
    super::at_least_one(&[("batch (--batch)", batch), ("repetitions (--reps)", reps)])?;
    let chosen: Vec<_> = KERNELS
        .iter()
        .filter(|k| only.is_none_or(|o| k.0.contains(o)))
        .collect();
    if chosen.is_empty() {
        return Err(Error::Config(format!(
            "no kernel matches --only {:?}; kernels: {}",
            only.unwrap_or(""),
            kernel_names().join(", ")
        )));
    }
    // The largest W1-shaped tensor: a 32-channel 32×32 activation per image.
    let max_binding = gpu.limits.max_storage_buffer_binding_size;
    if size == KernelSize::W1 && 4 * 32 * 32 * 32 * batch as u64 > max_binding {
        return Err(Error::Config(format!(
            "bench kernels at batch {batch} needs buffers over this adapter's max_storage_buffer_binding_size ({max_binding} bytes): lower --batch"
        )));
    }
    let pool = BufferPool::new();
    let mut out = Vec::new();
    for (i, &&(name, tolerance, build)) in chosen.iter().enumerate() {
        let ctx = |shape| Ctx {
            gpu,
            pool: &pool,
            rng: Rng::new(100 + i as u64),
            shape,
            batch,
        };
        let mut checked = Vec::new();
        let (mut max_err, mut shapes, mut small) = (0.0f64, Vec::new(), None);
        for shape in [Shape::Odd, Shape::Aligned] {
            let case = build(&mut ctx(shape));
            let what = format!("kernel {name} ({} family) at {}", gpu.family(), case.shape);
            let (got, seen) = launch(gpu, &pool, &case, true).await?;
            max_err = max_err.max(check(&what, &got, &case.want, tolerance)?);
            checked.extend(seen);
            shapes.push(case.shape.clone());
            small.get_or_insert(case);
        }
        let timed = match size {
            KernelSize::Small => small.expect("checked"),
            KernelSize::W1 => build(&mut ctx(Shape::W1)),
        };
        let (_, dispatches) = launch(gpu, &pool, &timed, false).await?;
        if let Some(k) = dispatches.iter().find(|k| !checked.contains(k)) {
            return Err(Error::Gpu(format!(
                "kernel {name} ({} family) at {} dispatches {k}, which its small shapes ({}) never ran: it is unchecked",
                gpu.family(),
                timed.shape,
                shapes.join("; ")
            )));
        }
        let ms = time(gpu, &pool, reps, &|rec: &mut Recorder<'_>| {
            drop((timed.run)(rec))
        })
        .await?;
        let rate = |amount: f64| amount / ms / 1e6;
        out.push(KernelCheck {
            kernel: name.into(),
            checked_shape: shapes.join("; "),
            max_err,
            tolerance,
            timed_shape: timed.shape.clone(),
            median_ms: ms,
            gflops: (timed.flops > 0.0).then(|| rate(timed.flops)),
            gbs: (timed.flops == 0.0).then(|| rate(timed.bytes)),
            dispatches,
        });
    }
    Ok(out)
}

/// Runs a case once; returns its outputs (when `read`) and the kernels it dispatched, in order
/// of first use (from a profiling recorder; none where the adapter cannot profile).
async fn launch(
    gpu: &Gpu,
    pool: &BufferPool,
    case: &Case,
    read: bool,
) -> Result<(Vec<Vec<f32>>, Vec<String>)> {
    let profiled = Recorder::profiled(gpu, pool);
    let profiling = profiled.is_ok();
    let mut rec = profiled.unwrap_or_else(|_| Recorder::new(gpu, pool));
    let outputs = (case.run)(&mut rec);
    let mut seen: Vec<String> = Vec::new();
    if profiling {
        for t in crate::gpu::profile::finish(&mut rec).await?.1 {
            if !seen.contains(&t.kernel) {
                seen.push(t.kernel);
            }
        }
    }
    let got = if read {
        readback::read_many(&mut rec, &outputs.iter().collect::<Vec<_>>()).await?
    } else {
        gpu.wait()?;
        Vec::new()
    };
    Ok((got, seen))
}

/// The largest relative error of every output against its reference; an error naming `what` when
/// it exceeds `tolerance` (or an output is missing or not finite).
fn check(what: &str, got: &[Vec<f32>], want: &[Vec<f64>], tolerance: f64) -> Result<f64> {
    let max_err = got
        .iter()
        .zip(want)
        .map(|(g, w)| max_rel_err(g, w))
        .fold(0.0, f64::max);
    if max_err.is_nan() || max_err > tolerance || got.len() != want.len() {
        return Err(Error::Gpu(format!(
            "{what} does not match the CPU reference: max relative error {max_err:.2e} > tolerance {tolerance:.0e}"
        )));
    }
    Ok(max_err)
}

/// Which of an op's kernels a builder makes.
#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Forward,
    Input,
    Weight,
    Bias,
}

/// Odd: N3 C5 K7 9×19 (wider than 16: the compact family's widest tile); aligned: N2 C8 K8 8×8. W1: SmallCNN's 32→32 3×3 at 32×32; stride 2: 32→64 at
/// 32×32; 1×1: 64→128 at 8×8 (ResNet-like shapes, as W1's net has neither).
fn conv(c: &mut Ctx, ks: usize, stride: usize, dir: Dir) -> Case {
    let (n, ci, k, h, w) = match (c.shape, ks, stride) {
        (Shape::Odd, ..) => (3, 5, 7, 9, 19),
        (Shape::Aligned, ..) => (2, 8, 8, 8, 8),
        (_, 3, 1) => (c.batch, 32, 32, 32, 32),
        (_, 3, _) => (c.batch, 32, 64, 32, 32),
        _ => (c.batch, 64, 128, 8, 8),
    };
    let s = ConvShape {
        n,
        c: ci,
        h,
        w,
        k,
        ks,
        stride,
        pad: ks / 2,
    };
    let (x, wt) = (c.randn(n * ci * h * w, 1.0), c.randn(k * ci * ks * ks, 0.3));
    let dy = c.randn(s.out_shape().iter().product(), 1.0);
    let (xg, wg, dyg) = (
        c.up(&[n, ci, h, w], &x),
        c.up(&[k, ci, ks, ks], &wt),
        c.up(&s.out_shape(), &dy),
    );
    let want = c.want(|| {
        let (x, wt, dy) = (f64s(&x), f64s(&wt), f64s(&dy));
        let xs = [n, ci, h, w];
        match dir {
            Dir::Forward => vec![r::conv2d(&x, xs, &wt, k, ks, stride, s.pad)],
            _ => {
                let (dx, dw) = r::conv2d_backward(&x, xs, &wt, k, ks, stride, s.pad, &dy);
                vec![if dir == Dir::Input { dx } else { dw }]
            }
        }
    });
    let traffic = bytes(&[&xg, &wg, &dyg]);
    Case {
        shape: format!("N{n} C{ci} K{k} {h}x{w}"),
        run: Box::new(move |rec| {
            vec![match dir {
                Dir::Forward => conv2d::forward(rec, &xg, &wg, stride, s.pad),
                Dir::Input => conv2d::backward_input(rec, &s, &dyg, &wg),
                _ => conv2d::backward_weight(rec, &s, &dyg, &xg, None),
            }]
        }),
        want,
        flops: 2.0 * s.macs() as f64,
        bytes: traffic,
    }
}

/// C = A·B. Odd 13×17·17×11, aligned 16×20·20×12; W1 size: 256³ (W1's only matmuls are the
/// tiny classifier's).
fn matmul(c: &mut Ctx) -> Case {
    let (m, k, n) = match c.shape {
        Shape::Odd => (13, 17, 11),
        Shape::Aligned => (16, 20, 12),
        Shape::W1 => (256, 256, 256),
    };
    let (a, b) = (c.randn(m * k, 1.0), c.randn(k * n, 1.0));
    let (ag, bg) = (c.up(&[m, k], &a), c.up(&[k, n], &b));
    let want = c.want(|| {
        let zero = vec![0.0; n];
        // A·B = linear(A, Bᵀ).
        let bt: Vec<f64> = (0..n * k).map(|i| b[(i % k) * n + i / k] as f64).collect();
        vec![r::linear(&f64s(&a), m, k, &bt, n, &zero)]
    });
    Case {
        shape: format!("{m}x{k}x{n}"),
        flops: 2.0 * (m * n * k) as f64,
        bytes: bytes(&[&ag, &bg]) + (m * n * 4) as f64,
        run: Box::new(move |rec| vec![linear::matmul(rec, &ag, &bg)]),
        want,
    }
}

/// The classifier: x (N, I) → (N, O). Odd N7 I13 O5, aligned N8 I16 O12; W1: N = batch, 128 → 100.
fn linear_case(c: &mut Ctx, dir: Dir) -> Case {
    let (n, i, o) = match c.shape {
        Shape::Odd => (7, 13, 5),
        Shape::Aligned => (8, 16, 12),
        Shape::W1 => (c.batch, 128, 100),
    };
    let (x, w, b, dy) = (
        c.randn(n * i, 1.0),
        c.randn(o * i, 0.3),
        c.randn(o, 1.0),
        c.randn(n * o, 1.0),
    );
    let (xg, wg, bg, dyg) = (
        c.up(&[n, i], &x),
        c.up(&[o, i], &w),
        c.up(&[o], &b),
        c.up(&[n, o], &dy),
    );
    let want = c.want(|| {
        let (x, w) = (f64s(&x), f64s(&w));
        if dir == Dir::Forward {
            return vec![r::linear(&x, n, i, &w, o, &f64s(&b))];
        }
        let (dx, dw, db) = r::linear_backward(&x, n, i, &w, o, &f64s(&dy));
        vec![match dir {
            Dir::Input => dx,
            Dir::Weight => dw,
            _ => db,
        }]
    });
    let traffic = bytes(&[&xg, &wg, &dyg]);
    Case {
        shape: format!("N{n} I{i} O{o}"),
        flops: if dir == Dir::Bias {
            0.0
        } else {
            2.0 * (n * i * o) as f64
        },
        bytes: traffic,
        run: Box::new(move |rec| {
            vec![match dir {
                Dir::Forward => linear::forward(rec, &xg, &wg, Some(&bg)),
                Dir::Input => linear::backward_input(rec, &dyg, &wg),
                Dir::Weight => linear::backward_weight(rec, &dyg, &xg, None),
                Dir::Bias => linear::backward_bias(rec, &dyg, None),
            }]
        }),
        want,
    }
}

/// Activations: odd N3 C5 7×9, aligned N2 C8 8×8; W1: SmallCNN's first block, N = batch, 32 × 32×32.
fn act_shape(c: &Ctx) -> [usize; 4] {
    match c.shape {
        Shape::Odd => [3, 5, 7, 9],
        Shape::Aligned => [2, 8, 8, 8],
        Shape::W1 => [c.batch, 32, 32, 32],
    }
}

fn shape_name(xs: [usize; 4]) -> String {
    format!("N{} C{} {}x{}", xs[0], xs[1], xs[2], xs[3])
}

/// Batch norm: train (Forward), eval (Bias) or backward (Input; statistics from one train
/// forward), followed by ReLU in the same kernel when `relu` (what the models run).
fn bn(c: &mut Ctx, dir: Dir, relu: bool) -> Case {
    let xs = act_shape(c);
    let (numel, ch) = (xs.iter().product::<usize>(), xs[1]);
    let x: Vec<f32> = c.randn(numel, 2.0).iter().map(|v| v + 3.0).collect();
    let (g, b, dy) = (c.randn(ch, 1.0), c.randn(ch, 1.0), c.randn(numel, 1.0));
    let (rm, rv): (Vec<f32>, Vec<f32>) = (
        c.randn(ch, 1.0),
        c.randn(ch, 1.0).iter().map(|v| 1.0 + v.abs()).collect(),
    );
    let (xg, gg, bg, dyg) = (
        c.up(&xs, &x),
        c.up(&[ch], &g),
        c.up(&[ch], &b),
        c.up(&xs, &dy),
    );
    let (rmg, rvg, health) = (c.up(&[ch], &rm), c.up(&[ch], &rv), c.up(&[1], &[0u32]));
    let eps = batchnorm::EPS as f64;
    let want = c.want(|| {
        let (x, g, b) = (f64s(&x), f64s(&g), f64s(&b));
        let act = |y: Vec<f64>| -> Vec<f64> {
            y.into_iter()
                .map(|v| if relu { v.max(0.0) } else { v })
                .collect()
        };
        vec![match dir {
            Dir::Forward => act(r::batch_norm(&x, xs, &g, &b, eps).0),
            Dir::Bias => act(r::batch_norm_eval(
                &x,
                xs,
                &g,
                &b,
                &f64s(&rm),
                &f64s(&rv),
                eps,
            )),
            _ => {
                // ReLU's backward first: dy flows where the forward's output is positive.
                let y = r::batch_norm(&x, xs, &g, &b, eps).0;
                let dy: Vec<f64> = dy
                    .iter()
                    .zip(&y)
                    .map(|(&d, &v)| if relu && v <= 0.0 { 0.0 } else { d as f64 })
                    .collect();
                r::batch_norm_backward(&x, xs, &g, eps, &dy).0
            }
        }]
    });
    let saved = (dir == Dir::Input).then(|| {
        let mut rec = Recorder::new(c.gpu, c.pool);
        batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rmg, &rvg), &health, relu).1
    });
    Case {
        shape: shape_name(xs),
        flops: 0.0,
        bytes: 2.0 * xg.bytes() as f64 * if dir == Dir::Input { 1.5 } else { 1.0 },
        run: Box::new(move |rec| match (dir, &saved) {
            (Dir::Forward, _) => {
                let running = (&rmg, &rvg);
                vec![batchnorm::forward_train(rec, &xg, &gg, &bg, running, &health, relu).0]
            }
            (Dir::Input, Some(saved)) => {
                vec![batchnorm::backward(rec, &xg, &dyg, &gg, saved, (None, None)).0]
            }
            _ => vec![batchnorm::forward_eval(
                rec,
                &xg,
                &gg,
                &bg,
                (&rmg, &rvg),
                relu,
            )],
        }),
        want,
    }
}

fn relu(c: &mut Ctx, backward: bool) -> Case {
    let xs = act_shape(c);
    let numel = xs.iter().product();
    let (x, dy) = (c.randn(numel, 1.0), c.randn(numel, 1.0));
    let (xg, dyg) = (c.up(&xs, &x), c.up(&xs, &dy));
    let want = c.want(|| {
        vec![x
            .iter()
            .zip(&dy)
            .map(|(&v, &d)| match (backward, v > 0.0) {
                (false, _) => v.max(0.0) as f64,
                (true, true) => d as f64,
                (true, false) => 0.0,
            })
            .collect()]
    });
    Case {
        shape: shape_name(xs),
        flops: 0.0,
        bytes: xg.bytes() as f64 * if backward { 3.0 } else { 2.0 },
        run: Box::new(move |rec| {
            vec![if backward {
                elementwise::relu_backward(rec, &xg, &dyg)
            } else {
                elementwise::relu_forward(rec, &xg)
            }]
        }),
        want,
    }
}

/// 2×2 max pool (as SmallCNN) or average pool over 2×2 windows.
fn pool_case(c: &mut Ctx, avg: bool, backward: bool) -> Case {
    let xs = act_shape(c);
    let x = c.randn(xs.iter().product(), 1.0);
    let ys = [xs[0], xs[1], xs[2] / 2, xs[3] / 2];
    let dy = c.randn(ys.iter().product(), 1.0);
    let (xg, dyg) = (c.up(&xs, &x), c.up(&ys, &dy));
    let want = c.want(|| {
        let (x, dy) = (f64s(&x), f64s(&dy));
        vec![match (avg, backward) {
            (false, false) => r::max_pool2(&x, xs),
            (false, true) => r::max_pool2_backward(&x, xs, &dy),
            (true, false) => r::avg_pool(&x, xs, 2),
            (true, true) => r::avg_pool_backward(xs, 2, &dy),
        }]
    });
    Case {
        shape: shape_name(xs),
        flops: 0.0,
        bytes: xg.bytes() as f64 * if backward { 2.25 } else { 1.25 },
        run: Box::new(move |rec| {
            vec![match (avg, backward) {
                (false, false) => pool::max_forward(rec, &xg),
                (false, true) => pool::max_backward(rec, &xg, &dyg),
                (true, false) => pool::avg_forward(rec, &xg, 2),
                (true, true) => pool::avg_backward(rec, &xs, &dyg, 2),
            }]
        }),
        want,
    }
}

/// Logits: odd B7 K13, aligned B8 K16; W1: B = batch, 100 classes.
fn logits_shape(c: &Ctx) -> (usize, usize) {
    match c.shape {
        Shape::Odd => (7, 13),
        Shape::Aligned => (8, 16),
        Shape::W1 => (c.batch, 100),
    }
}

/// The fused CS-KD loss (T = 4, λ = 1): L, CE, KL and dL/dza.
fn cskd(c: &mut Ctx) -> Case {
    let (b, k) = logits_shape(c);
    let (za, zp) = (c.randn(b * k, 3.0), c.randn(b * k, 3.0));
    let labels: Vec<u32> = (0..b).map(|_| c.rng.below(k) as u32).collect();
    let (zag, zpg, lg) = (c.up(&[b, k], &za), c.up(&[b, k], &zp), c.up(&[b], &labels));
    let cfg = LossConfig::cskd(4.0, 1.0);
    let want = c.want(|| {
        let (za, zp) = (f64s(&za), f64s(&zp));
        let (l, ce, kl) = r::cskd_loss(&za, Some(&zp), &labels, k, 4.0, 1.0, 0.0);
        vec![
            vec![l, ce, kl],
            r::cskd_grad(&za, Some(&zp), &labels, k, 4.0, 1.0, 0.0),
        ]
    });
    Case {
        shape: format!("B{b} K{k}"),
        flops: 0.0,
        bytes: bytes(&[&zag, &zpg, &zag]),
        run: Box::new(move |rec| {
            let out = cskd_loss(rec, &zag, Some(&zpg), &lg, cfg);
            vec![out.loss.prefix(&[3]), out.dza]
        }),
        want,
    }
}

/// The soft-target loss with mixing (m = 0.7), CS-KD's term and label smoothing.
fn soft(c: &mut Ctx) -> Case {
    let (b, k) = logits_shape(c);
    let (za, zp) = (c.randn(b * k, 3.0), c.randn(b * k, 3.0));
    let info: Vec<u32> = (0..b)
        .flat_map(|i| [c.rng.below(k) as u32, c.rng.below(k) as u32, i as u32])
        .collect();
    let (zag, zpg, ig) = (c.up(&[b, k], &za), c.up(&[b, k], &zp), c.up(&[b, 3], &info));
    let cfg = SoftLossConfig {
        temperature: 4.0,
        lambda: 1.0,
        smoothing: 0.1,
        mix: 0.7,
        ..SoftLossConfig::default()
    };
    let want = c.want(|| {
        let s = r::Soft {
            t: 4.0,
            lambda: 1.0,
            eps: 0.1f32 as f64,
            t_kd: 1.0,
            lambda_kd: 0.0,
            mix: 0.7f32 as f64,
            alpha: 0.0,
        };
        let targets = r::soft_targets(&info, None, k, s);
        let (za, zp) = (f64s(&za), f64s(&zp));
        let (l, ce, reg) = r::soft_loss(&za, Some(&zp), None, &targets, k, s);
        vec![
            vec![l, ce, reg],
            r::soft_grad(&za, Some(&zp), None, &targets, k, s),
        ]
    });
    Case {
        shape: format!("B{b} K{k}"),
        flops: 0.0,
        bytes: bytes(&[&zag, &zpg, &zag]),
        run: Box::new(move |rec| {
            let out = soft_loss(rec, &zag, Some(&zpg), None, &ig, None, cfg);
            vec![out.loss.prefix(&[3]), out.dza]
        }),
        want,
    }
}

/// Images (N, 3, 32, 32): odd N3, aligned N4, W1 N = batch.
fn images(c: &Ctx) -> usize {
    match c.shape {
        Shape::Odd => 3,
        Shape::Aligned => 4,
        Shape::W1 => c.batch,
    }
}

/// CutMix of a normalised batch with a drawn box and permutation.
fn mix_case(c: &mut Ctx) -> Case {
    let n = images(c);
    let x = c.randn(n * 3072, 1.0);
    let draw = MixDraw::draw(&mut c.rng, n, 1.0, true);
    let (xg, pg) = (c.up(&[n, 3, 32, 32], &x), c.up(&[n], &draw.perm));
    let want = c.want(|| vec![f64s(&r::mix(&x, &draw))]);
    Case {
        shape: format!("N{n} 3x32x32"),
        flops: 0.0,
        bytes: 2.0 * xg.bytes() as f64,
        run: Box::new(move |rec| vec![mix(rec, &xg, &pg, &draw)]),
        want,
    }
}

/// One SGD update of a parameter vector: odd 1001, aligned 1024, W1: SmallCNN's 152 644 parameters at width 32
/// (convs 139 104 without bias, batch norms 640, classifier 12 900).
fn sgd_case(c: &mut Ctx) -> Case {
    let n = match c.shape {
        Shape::Odd => 1001,
        Shape::Aligned => 1024,
        Shape::W1 => 152_644,
    };
    let (w, g, v) = (c.randn(n, 1.0), c.randn(n, 1.0), c.randn(n, 1.0));
    let (wg, gg, vg) = (c.up(&[n], &w), c.up(&[n], &g), c.up(&[n], &v));
    let (kw, kv, loss) = (
        c.up(&[n], &vec![0f32; n]),
        c.up(&[n], &vec![0f32; n]),
        c.up(&[4], &[1.0f32, 0.0, 0.0, 0.0]),
    );
    let cfg = sgd::SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
    };
    let want = c.want(|| {
        let (w2, v2) = r::sgd(
            &f64s(&w),
            &f64s(&g),
            &f64s(&v),
            0.1f32 as f64,
            0.9f32 as f64,
            5e-4f32 as f64,
        );
        vec![w2, v2]
    });
    Case {
        shape: format!("{n} parameters"),
        flops: 0.0,
        bytes: 7.0 * wg.bytes() as f64,
        run: Box::new(move |rec| {
            sgd::step(rec, &wg, &gg, &vg, &loss, (&kw, &kv), cfg);
            vec![wg.clone(), vg.clone()]
        }),
        want,
    }
}

/// Random crop + flip + normalisation of packed bytes.
fn augment_case(c: &mut Ctx) -> Case {
    let n = images(c);
    let bytes_in: Vec<u8> = (0..n * 3072).map(|_| c.rng.below(256) as u8).collect();
    let crops: Vec<Crop> = (0..n).map(|_| Crop::random(&mut c.rng)).collect();
    let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes_in);
    let (src, cg) = (
        c.up(&[words.len()], &words),
        c.up(&[n * 3], &Crop::encode(&crops)),
    );
    let want = c.want(|| vec![f64s(&r::augment(&bytes_in, &crops))]);
    Case {
        shape: format!("N{n} 3x32x32"),
        flops: 0.0,
        bytes: 5.0 * src.bytes() as f64,
        run: Box::new(move |rec| vec![augment(rec, &src, &cg, n)]),
        want,
    }
}

fn softmax_case(c: &mut Ctx) -> Case {
    let (b, k) = logits_shape(c);
    let z = c.randn(b * k, 5.0);
    let zg = c.up(&[b, k], &z);
    let want = c.want(|| vec![r::softmax_rows(&f64s(&z), k)]);
    Case {
        shape: format!("B{b} K{k}"),
        flops: 0.0,
        bytes: 2.0 * zg.bytes() as f64,
        run: Box::new(move |rec| vec![softmax::softmax(rec, &zg)]),
        want,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_mismatch_fails_loudly_with_the_kernels_name() {
        let want = vec![vec![1.0, -2.0, 1000.0]];
        let ok = check("k", &[vec![1.0, -2.0, 1000.05]], &want, 1e-4).unwrap();
        assert!(
            (ok - 5e-5).abs() < 1e-7,
            "relative to |reference| = 1000: {ok}"
        );
        for got in [
            vec![1.0, -2.001, 1000.0], // off by 1e-3 > 1e-4
            vec![1.0, f32::NAN, 1000.0],
            vec![1.0, -2.0],
        ] {
            let e = check(
                "kernel relu.forward (tiled family) at N3",
                &[got],
                &want,
                1e-4,
            );
            let msg = e.unwrap_err().to_string();
            assert!(
                msg.contains("relu.forward") && msg.contains("tolerance"),
                "{msg}"
            );
        }
        assert!(check("k", &[], &want, 1e-4).is_err(), "an output missing");
    }
}
