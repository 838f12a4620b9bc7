//! W2: GFLOP/s of each conv kernel (forward, input-grad, weight-grad) on the SmallCNN shapes and of
//! a square matmul. Each is first checked against `crate::reference` on one image (conv) or a
//! sampled set of outputs (matmul); a relative error over 1e-3 fails the run.

use super::{at_least_one, max_rel_err, time};
use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Gpu, Recorder, Tensor};
use crate::ops::conv2d::{self, ConvShape};
use crate::ops::linear;
use crate::reference;
use crate::rng::Rng;
use serde::Serialize;

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
    let max_binding = gpu.limits.max_storage_buffer_binding_size;
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

        let errs = validate_conv(gpu, &pool, &s, &x, &w, &dy).await?;

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
            err = err.max(max_rel_err(&[got[i * m + j]], &[want]));
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

/// The three conv kernels on the first image of `x` and `dy` against the reference.
async fn validate_conv(
    gpu: &Gpu,
    pool: &BufferPool,
    s: &ConvShape,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
) -> Result<[f64; 3]> {
    let one = ConvShape { n: 1, ..*s };
    let (xn, dyn_) = (s.c * s.h * s.w, s.k * s.oh() * s.ow());
    let up = |shape: &[usize], d: &[f32]| Tensor::from_slice(&gpu.device, &gpu.queue, shape, d);
    let (xt, wt, dyt) = (
        up(&[1, s.c, s.h, s.w], &x[..xn]),
        up(&[s.k, s.c, s.ks, s.ks], w),
        up(&one.out_shape(), &dy[..dyn_]),
    );
    let mut rec = Recorder::new(gpu, pool);
    let y = conv2d::forward(&mut rec, &xt, &wt, s.stride, s.pad);
    let dx = conv2d::backward_input(&mut rec, &one, &dyt, &wt);
    let dw = conv2d::backward_weight(&mut rec, &one, &dyt, &xt, None);
    let got = readback::read_many(&mut rec, &[&y, &dx, &dw]).await?;
    let f64s = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
    let (x64, w64, dy64) = (f64s(&x[..xn]), f64s(w), f64s(&dy[..dyn_]));
    let xs = [1, s.c, s.h, s.w];
    let want_y = reference::conv2d(&x64, xs, &w64, s.k, s.ks, s.stride, s.pad);
    let (want_dx, want_dw) =
        reference::conv2d_backward(&x64, xs, &w64, s.k, s.ks, s.stride, s.pad, &dy64);
    Ok([
        max_rel_err(&got[0], &want_y),
        max_rel_err(&got[1], &want_dx),
        max_rel_err(&got[2], &want_dw),
    ])
}
