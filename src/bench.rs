//! Benchmarks from BENCH.md. W1: a whole CS-KD (or CE) training step of SmallCNN on random data;
//! W2: GFLOP/s of each conv kernel on the SmallCNN shapes and of a 1024³ matmul, each validated
//! against a CPU computation of sampled outputs before it is timed. Runs natively and on the web.

use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Gpu, Recorder, Tensor};
use crate::model::{Model, ModelConfig, ModelName};
use crate::ops::conv2d::{self, ConvShape};
use crate::ops::linear;
use crate::ops::loss::LossConfig;
use crate::ops::sgd::SgdConfig;
use crate::rng::Rng;
use crate::train::record_step;
use serde::Serialize;
use web_time::Instant;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct W1Result {
    pub method: String,
    /// Images per step (anchors + partners).
    pub images_per_step: usize,
    pub steps: usize,
    pub median_step_ms: f64,
    /// Images per second from the median step time.
    pub images_per_sec: f64,
    pub dispatches_per_step: usize,
}

/// W1: `anchors` anchors (+ as many partners for CS-KD) per step, `steps` timed steps after 3 warm-up ones.
pub async fn w1(gpu: &Gpu, cskd: bool, anchors: usize, steps: usize) -> Result<W1Result> {
    let config = ModelConfig {
        name: ModelName::Smallcnn,
        width: 32,
        classes: 100,
    };
    at_least_one(&[
        ("anchors per step (--batch)", anchors),
        ("timed steps (--steps)", steps),
    ])?;
    crate::model::limits::check_fits(
        &config,
        anchors,
        gpu.limits.max_storage_buffer_binding_size as u64,
    )?;
    let model = Model::new(gpu, &config, 0)?;
    let mut rng = Rng::new(1);
    let n = anchors;
    let img = |rng: &mut Rng| -> Vec<f32> { (0..n * 3072).map(|_| rng.normal()).collect() };
    let xa = Tensor::from_slice(&gpu.device, &gpu.queue, &[n, 3, 32, 32], &img(&mut rng));
    let xp = Tensor::from_slice(&gpu.device, &gpu.queue, &[n, 3, 32, 32], &img(&mut rng));
    let labels: Vec<u32> = (0..n).map(|_| rng.below(100) as u32).collect();
    let labels = Tensor::from_slice(&gpu.device, &gpu.queue, &[n], &labels);
    let loss_cfg = if cskd {
        LossConfig::cskd(4.0, 1.0)
    } else {
        LossConfig::ce()
    };
    let sgd = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
    };
    let pool = BufferPool::new();
    let mut times = Vec::new();
    let mut dispatches = 0;
    for i in 0..steps + 3 {
        let start = Instant::now();
        let mut rec = Recorder::new(gpu, &pool);
        let loss = record_step(
            &mut rec,
            &model,
            &xa,
            cskd.then_some(&xp),
            &labels,
            loss_cfg,
            sgd,
        );
        dispatches = rec.dispatches();
        let l = readback::read(&mut rec, &loss).await?;
        if !l[0].is_finite() {
            return Err(Error::Diverged(format!("W1 loss {}", l[0])));
        }
        if i >= 3 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    let median = median(&mut times);
    let images = if cskd { 2 * n } else { n };
    Ok(W1Result {
        method: if cskd { "cskd" } else { "ce" }.into(),
        images_per_step: images,
        steps,
        median_step_ms: median * 1e3,
        images_per_sec: images as f64 / median,
        dispatches_per_step: dispatches,
    })
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelResult {
    pub kernel: String,
    pub shape: String,
    pub gflop: f64,
    pub median_ms: f64,
    pub gflops: f64,
    /// Largest relative error over the sampled outputs checked on the CPU.
    pub max_rel_err: f64,
}

/// The five SmallCNN convolutions at batch 64: (C, K, H = W).
pub const SMALLCNN_CONVS: [(usize, usize, usize); 5] = [
    (3, 32, 32),
    (32, 32, 32),
    (32, 64, 16),
    (64, 64, 16),
    (64, 128, 8),
];

/// W2: every conv kernel on the SmallCNN shapes at `batch`, then a `matmul`³ product.
pub async fn w2(gpu: &Gpu, batch: usize, matmul: usize, reps: usize) -> Result<Vec<KernelResult>> {
    at_least_one(&[("batch (--batch)", batch), ("repetitions (--reps)", reps)])?;
    let max_binding = gpu.limits.max_storage_buffer_binding_size as u64;
    let biggest = SMALLCNN_CONVS
        .iter()
        .map(|&(c, k, hw)| c.max(k) * hw * hw)
        .max()
        .unwrap_or(0) as u64;
    if 4 * biggest * batch as u64 > max_binding || 4 * (matmul * matmul) as u64 > max_binding {
        return Err(Error::Config(format!(
            "W2 at batch {batch} / matmul {matmul} needs buffers over this adapter's max_storage_buffer_binding_size ({max_binding} bytes): lower --batch or --matmul"
        )));
    }
    let pool = BufferPool::new();
    let mut rng = Rng::new(2);
    let mut out = Vec::new();
    for &(c, k, hw) in &SMALLCNN_CONVS {
        let s = ConvShape {
            n: batch,
            c,
            h: hw,
            w: hw,
            k,
            ks: 3,
            stride: 1,
            pad: 1,
        };
        let x: Vec<f32> = (0..batch * c * hw * hw).map(|_| rng.normal()).collect();
        let w: Vec<f32> = (0..k * c * 9).map(|_| rng.normal() * 0.1).collect();
        let dy: Vec<f32> = (0..batch * k * hw * hw).map(|_| rng.normal()).collect();
        let up = |shape: &[usize], d: &[f32]| Tensor::from_slice(&gpu.device, &gpu.queue, shape, d);
        let (xt, wt, dyt) = (
            up(&[batch, c, hw, hw], &x),
            up(&[k, c, 3, 3], &w),
            up(&s.out_shape(), &dy),
        );
        let gflop = 2.0 * s.macs() as f64 / 1e9;
        let name = format!("N{batch} C{c} K{k} {hw}x{hw}");

        let mut rec = Recorder::new(gpu, &pool);
        let y = conv2d::forward(&mut rec, &xt, &wt, 1, 1);
        let dx = conv2d::backward_input(&mut rec, &s, &dyt, &wt);
        let dw = conv2d::backward_weight(&mut rec, &s, &dyt, &xt, None);
        let got = readback::read_many(&mut rec, &[&y, &dx, &dw]).await?;
        let errs = validate_conv(&s, &x, &w, &dy, &got, &mut rng);
        drop((y, dx, dw));

        let timed: [(&str, Box<dyn Fn(&mut Recorder<'_>)>); 3] = [
            (
                "conv forward",
                Box::new(|rec: &mut Recorder<'_>| drop(conv2d::forward(rec, &xt, &wt, 1, 1))),
            ),
            (
                "conv input-grad",
                Box::new(|rec: &mut Recorder<'_>| drop(conv2d::backward_input(rec, &s, &dyt, &wt))),
            ),
            (
                "conv weight-grad",
                Box::new(|rec: &mut Recorder<'_>| {
                    drop(conv2d::backward_weight(rec, &s, &dyt, &xt, None))
                }),
            ),
        ];
        for ((kernel, f), err) in timed.iter().zip(errs) {
            let ms = time(gpu, &pool, reps, f).await?;
            out.push(KernelResult {
                kernel: kernel.to_string(),
                shape: name.clone(),
                gflop,
                median_ms: ms,
                gflops: gflop / ms * 1e3,
                max_rel_err: err,
            });
        }
    }
    if matmul > 0 {
        let m = matmul;
        let a: Vec<f32> = (0..m * m).map(|_| rng.normal()).collect();
        let b: Vec<f32> = (0..m * m).map(|_| rng.normal()).collect();
        let (at, bt) = (
            Tensor::from_slice(&gpu.device, &gpu.queue, &[m, m], &a),
            Tensor::from_slice(&gpu.device, &gpu.queue, &[m, m], &b),
        );
        let mut rec = Recorder::new(gpu, &pool);
        let c = linear::matmul(&mut rec, &at, &bt);
        let got = readback::read(&mut rec, &c).await?;
        let mut err: f64 = 0.0;
        for _ in 0..64 {
            let (i, j) = (rng.below(m), rng.below(m));
            let want: f64 = (0..m)
                .map(|t| a[i * m + t] as f64 * b[t * m + j] as f64)
                .sum();
            err = err.max(rel_err(got[i * m + j], want));
        }
        let gflop = 2.0 * (m * m * m) as f64 / 1e9;
        let ms = time(gpu, &pool, reps, &|rec: &mut Recorder<'_>| {
            drop(linear::matmul(rec, &at, &bt))
        })
        .await?;
        out.push(KernelResult {
            kernel: "matmul".into(),
            shape: format!("{m}x{m}x{m}"),
            gflop,
            median_ms: ms,
            gflops: gflop / ms * 1e3,
            max_rel_err: err,
        });
    }
    if let Some(bad) = out.iter().find(|r| r.max_rel_err > 1e-3) {
        return Err(Error::Gpu(format!(
            "{} {} failed validation: relative error {}",
            bad.kernel, bad.shape, bad.max_rel_err
        )));
    }
    Ok(out)
}

/// Every count must be at least 1 (a zero would leave nothing to time, or index an empty list).
fn at_least_one(counts: &[(&str, usize)]) -> Result<()> {
    for &(name, n) in counts {
        if n == 0 {
            return Err(Error::Config(format!("{name} must be at least 1")));
        }
    }
    Ok(())
}

/// Median milliseconds of one launch: `reps` trials, each one submit of the kernel(s) then a wait.
async fn time(
    gpu: &Gpu,
    pool: &BufferPool,
    reps: usize,
    f: &dyn Fn(&mut Recorder<'_>),
) -> Result<f64> {
    let probe = Tensor::zeros(&gpu.device, &[4]);
    let mut times = Vec::new();
    for i in 0..reps + 1 {
        let start = Instant::now();
        let mut rec = Recorder::new(gpu, pool);
        f(&mut rec);
        readback::read(&mut rec, &probe).await?; // submit + wait for completion
        if i > 0 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(median(&mut times))
}

fn validate_conv(
    s: &ConvShape,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    got: &[Vec<f32>],
    rng: &mut Rng,
) -> [f64; 3] {
    let (c, k, h, wd) = (s.c, s.k, s.h, s.w);
    let xat = |n: usize, ci: usize, iy: isize, ix: isize| {
        if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
            0.0
        } else {
            x[((n * c + ci) * h + iy as usize) * wd + ix as usize] as f64
        }
    };
    let dyat = |n: usize, o: usize, oy: isize, ox: isize| {
        if oy < 0 || ox < 0 || oy >= h as isize || ox >= wd as isize {
            0.0
        } else {
            dy[((n * k + o) * h + oy as usize) * wd + ox as usize] as f64
        }
    };
    let mut errs = [0.0f64; 3];
    for _ in 0..32 {
        let (n, o, ci, yy, xx) = (
            rng.below(s.n),
            rng.below(k),
            rng.below(c),
            rng.below(h) as isize,
            rng.below(wd) as isize,
        );
        let mut fwd = 0.0;
        let mut bin = 0.0;
        for cc in 0..c {
            for r in 0..3 {
                for t in 0..3 {
                    fwd += xat(n, cc, yy + r as isize - 1, xx + t as isize - 1)
                        * w[((o * c + cc) * 3 + r) * 3 + t] as f64;
                }
            }
        }
        for oo in 0..k {
            for r in 0..3 {
                for t in 0..3 {
                    bin += dyat(n, oo, yy + 1 - r as isize, xx + 1 - t as isize)
                        * w[((oo * c + ci) * 3 + r) * 3 + t] as f64;
                }
            }
        }
        let (r, t) = (rng.below(3) as isize, rng.below(3) as isize);
        let mut bw = 0.0;
        for nn in 0..s.n {
            for oy in 0..h as isize {
                for ox in 0..wd as isize {
                    bw += dyat(nn, o, oy, ox) * xat(nn, ci, oy + r - 1, ox + t - 1);
                }
            }
        }
        errs[0] = errs[0].max(rel_err(
            got[0][((n * k + o) * h + yy as usize) * wd + xx as usize],
            fwd,
        ));
        errs[1] = errs[1].max(rel_err(
            got[1][((n * c + ci) * h + yy as usize) * wd + xx as usize],
            bin,
        ));
        errs[2] = errs[2].max(rel_err(
            got[2][((o * c + ci) * 3 + r as usize) * 3 + t as usize],
            bw,
        ));
    }
    errs
}

/// Error relative to the value's magnitude (with a floor so near-zero sums do not blow up).
fn rel_err(got: f32, want: f64) -> f64 {
    (got as f64 - want).abs() / want.abs().max(1.0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
