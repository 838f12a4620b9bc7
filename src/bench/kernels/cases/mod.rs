//! The kernel registry: every op kernel once, with the shapes it runs at — a small odd one, a small
//! aligned one (multiples of 4 and 8: the vectorised fast paths), the edge cases the tests add and
//! W1's —, how to launch it on the GPU, the CPU reference (`crate::reference`) it must match and
//! within what tolerance. `cskd bench kernels` checks the two small shapes and times W1's; the
//! tests (tests/kernels, once per kernel family) check every shape but W1's.

mod batchnorm;
mod conv;
mod dense;
mod elementwise;
mod images;
mod loss;
mod pool;

pub use conv::CONV_EDGES;

use crate::gpu::{BufferPool, Gpu, Recorder, Tensor};
use crate::rng::Rng;

/// Which of a kernel's shapes to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Small sizes that are multiples of no vector width (and rows wider than 16 columns).
    Odd,
    /// Small sizes that are multiples of 4 and 8.
    Aligned,
    /// The i-th edge case (other paddings, strides, configurations, extreme values); there is none
    /// past the last.
    Edge(usize),
    /// W1's shapes: timed, never checked (their references would take minutes on the CPU).
    W1,
}

/// One kernel of the registry.
pub struct KernelCase {
    /// `op.direction`, as `--only` selects it.
    pub name: &'static str,
    /// The largest error allowed (relative to max(|reference|, 1)) unless an output sets its own.
    pub tolerance: f64,
    build: fn(&mut Ctx) -> Option<Case>,
}

/// Every kernel, in the order `cskd bench kernels` reports them.
pub const KERNELS: &[KernelCase] = &[
    kernel("conv3x3s1.forward", 1e-4, |c| {
        conv::conv(c, 3, 1, Dir::Forward)
    }),
    kernel("conv3x3s1.input_grad", 1e-4, |c| {
        conv::conv(c, 3, 1, Dir::Input)
    }),
    kernel("conv3x3s1.weight_grad", 1e-4, |c| {
        conv::conv(c, 3, 1, Dir::Weight)
    }),
    kernel("conv3x3s2.forward", 1e-4, |c| {
        conv::conv(c, 3, 2, Dir::Forward)
    }),
    kernel("conv3x3s2.input_grad", 1e-4, |c| {
        conv::conv(c, 3, 2, Dir::Input)
    }),
    kernel("conv3x3s2.weight_grad", 1e-4, |c| {
        conv::conv(c, 3, 2, Dir::Weight)
    }),
    kernel("conv1x1.forward", 1e-4, |c| {
        conv::conv(c, 1, 1, Dir::Forward)
    }),
    kernel("conv1x1.input_grad", 1e-4, |c| {
        conv::conv(c, 1, 1, Dir::Input)
    }),
    kernel("conv1x1.weight_grad", 1e-4, |c| {
        conv::conv(c, 1, 1, Dir::Weight)
    }),
    kernel("matmul", 1e-4, dense::matmul),
    kernel("linear.forward", 1e-4, |c| dense::linear(c, Dir::Forward)),
    kernel("linear.input_grad", 1e-4, |c| dense::linear(c, Dir::Input)),
    kernel("linear.weight_grad", 1e-4, |c| {
        dense::linear(c, Dir::Weight)
    }),
    kernel("linear.bias_grad", 1e-4, |c| dense::linear(c, Dir::Bias)),
    kernel("batchnorm.train", 1e-3, |c| {
        batchnorm::bn(c, Dir::Forward, false)
    }),
    kernel("batchnorm.eval", 1e-4, |c| {
        batchnorm::bn(c, Dir::Eval, false)
    }),
    kernel("batchnorm.backward", 2e-3, |c| {
        batchnorm::bn(c, Dir::Input, false)
    }),
    kernel("batchnorm_relu.train", 1e-3, |c| {
        batchnorm::bn(c, Dir::Forward, true)
    }),
    kernel("batchnorm_relu.eval", 1e-4, |c| {
        batchnorm::bn(c, Dir::Eval, true)
    }),
    kernel("batchnorm_relu.backward", 2e-3, |c| {
        batchnorm::bn(c, Dir::Input, true)
    }),
    kernel("batchnorm_relu.backward_in_place", 2e-3, |c| {
        batchnorm::bn_backward_in_place(c, true)
    }),
    kernel("relu.forward", 0.0, |c| elementwise::relu(c, Dir::Forward)),
    kernel("relu.backward", 0.0, |c| elementwise::relu(c, Dir::Input)),
    kernel("add", 1e-6, elementwise::add),
    kernel("maxpool.forward", 0.0, |c| {
        pool::pool(c, false, Dir::Forward)
    }),
    kernel("maxpool.backward", 1e-6, |c| {
        pool::pool(c, false, Dir::Input)
    }),
    kernel("avgpool.forward", 1e-6, |c| {
        pool::pool(c, true, Dir::Forward)
    }),
    kernel("avgpool.backward", 1e-6, |c| {
        pool::pool(c, true, Dir::Input)
    }),
    kernel("cskd_loss", 1e-5, loss::cskd),
    kernel("soft_loss", 1e-5, loss::soft),
    kernel("softmax", 1e-6, loss::softmax),
    kernel("mix", 1e-6, images::mix),
    kernel("sgd", 1e-6, |c| images::sgd(c, false)),
    kernel("sgd.nesterov", 1e-6, |c| images::sgd(c, true)),
    kernel("augment", 1e-5, images::augment),
];

const fn kernel(
    name: &'static str,
    tolerance: f64,
    build: fn(&mut Ctx) -> Option<Case>,
) -> KernelCase {
    KernelCase {
        name,
        tolerance,
        build,
    }
}

impl KernelCase {
    /// "kernel NAME (FAMILY family)", for messages.
    pub(super) fn describe(&self, gpu: &Gpu) -> String {
        format!("kernel {} ({} family)", self.name, gpu.family())
    }

    /// The case at `shape` with its data uploaded (the same data wherever it runs: the seed is the
    /// kernel's place in the registry); `None` past the last edge case.
    pub(super) fn case(
        &self,
        gpu: &Gpu,
        pool: &BufferPool,
        shape: Shape,
        batch: usize,
    ) -> Option<Case> {
        let index = KERNELS
            .iter()
            .position(|k| k.name == self.name)
            .expect("a registered kernel");
        (self.build)(&mut Ctx {
            gpu,
            pool,
            rng: Rng::new(100 + index as u64),
            shape,
            batch,
        })
    }
}

/// Records the kernel's launch(es); returns the outputs to check.
pub(super) type Launch = Box<dyn Fn(&mut Recorder<'_>) -> Vec<Tensor>>;

/// A kernel built at one shape: how to launch it and, when checking, what it must produce.
pub(super) struct Case {
    pub shape: String,
    pub run: Launch,
    /// One per output of `run`; empty at W1's shapes.
    pub want: Vec<Expect>,
    pub flops: f64,
    pub bytes: f64,
}

/// What one output must be.
pub(super) struct Expect {
    pub what: &'static str,
    pub values: Vec<f64>,
    /// Instead of the kernel's tolerance.
    pub tolerance: Option<f64>,
    /// The output's shape, where the kernel's caller relies on it.
    pub shape: Option<Vec<usize>>,
    /// A ReLU's output: the reference masks some elements and keeps others (else the case would
    /// not test the mask).
    pub masks: bool,
}

impl Expect {
    pub fn new(what: &'static str, values: Vec<f64>) -> Expect {
        Expect {
            what,
            values,
            tolerance: None,
            shape: None,
            masks: false,
        }
    }
    pub fn tolerance(self, tolerance: f64) -> Expect {
        Expect {
            tolerance: Some(tolerance),
            ..self
        }
    }
    pub fn shaped(self, shape: &[usize]) -> Expect {
        Expect {
            shape: Some(shape.to_vec()),
            ..self
        }
    }
    pub fn masks(self, masks: bool) -> Expect {
        Expect { masks, ..self }
    }
}

/// Which of an op's kernels a builder makes.
#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Forward,
    Eval,
    Input,
    Weight,
    Bias,
}

/// Builder state: the shape asked for, uploads and random data.
struct Ctx<'a> {
    gpu: &'a Gpu,
    pool: &'a BufferPool,
    rng: Rng,
    shape: Shape,
    /// W1's images per conv.
    batch: usize,
}

impl Ctx<'_> {
    /// The small odd, small aligned, i-th edge or W1 value (`None` past the last edge).
    fn pick<T: Clone>(&self, odd: T, aligned: T, edges: &[T], w1: T) -> Option<T> {
        match self.shape {
            Shape::Odd => Some(odd),
            Shape::Aligned => Some(aligned),
            Shape::Edge(i) => edges.get(i).cloned(),
            Shape::W1 => Some(w1),
        }
    }
    fn is_edge(&self) -> bool {
        matches!(self.shape, Shape::Edge(_))
    }
    fn randn(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.normal() * scale).collect()
    }
    fn up<T: bytemuck::Pod>(&self, shape: &[usize], data: &[T]) -> Tensor {
        Tensor::from_slice(&self.gpu.device, &self.gpu.queue, shape, data)
    }
    /// Activation values as the device stores them (f16-rounded under mixed precision): what the
    /// kernel reads, and so what the reference must see.
    fn act(&self, values: Vec<f32>) -> Vec<f32> {
        let dtype = self.gpu.activations();
        values.into_iter().map(|v| dtype.round(v)).collect()
    }
    /// An activation input, uploaded in the device's activation dtype (`act` its values first).
    fn up_act(&self, shape: &[usize], data: &[f32]) -> Tensor {
        let (gpu, dtype) = (self.gpu, self.gpu.activations());
        Tensor::from_f32s(&gpu.device, &gpu.queue, shape, data, dtype)
    }
    /// The reference, only when checking.
    fn want(&self, f: impl FnOnce() -> Vec<Expect>) -> Vec<Expect> {
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

/// Activations: odd N3 C5 7×9, aligned N2 C8 8×8; W1: SmallCNN's first block, N = batch, 32 × 32×32.
fn act_shape(c: &Ctx, edges: &[[usize; 4]]) -> Option<[usize; 4]> {
    c.pick([3, 5, 7, 9], [2, 8, 8, 8], edges, [c.batch, 32, 32, 32])
}

fn shape_name(xs: [usize; 4]) -> String {
    format!("N{} C{} {}x{}", xs[0], xs[1], xs[2], xs[3])
}
