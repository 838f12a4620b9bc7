//! ReLU and addition (residual connections). Shapes: any; outputs have the input's shape.
//! The models' ReLUs run fused into batch norm (`ops::batchnorm`); these kernels stay for other uses.

use super::{dispatch_1d, Count};
use crate::gpu::{Kernel, Recorder, Tensor};
use crate::tape::{Tape, Var};

const RELU_FORWARD: Kernel = Kernel::new("elementwise", "relu_forward");
const RELU_BACKWARD: Kernel = Kernel::new("elementwise", "relu_backward");
const ADD: Kernel = Kernel::new("elementwise", "add");

fn count(t: &Tensor) -> Count {
    Count {
        n: t.numel() as u32,
        _pad: [0; 3],
    }
}

pub fn relu_forward(rec: &mut Recorder<'_>, x: &Tensor) -> Tensor {
    let y = rec.alloc_as(x.shape(), x.dtype());
    dispatch_1d(rec, RELU_FORWARD, &count(x), &[x, &y], x.numel());
    y
}

/// dx = dy · [x > 0]
pub fn relu_backward(rec: &mut Recorder<'_>, x: &Tensor, dy: &Tensor) -> Tensor {
    let dx = rec.alloc(x.shape());
    dispatch_1d(rec, RELU_BACKWARD, &count(x), &[x, dy, &dx], x.numel());
    dx
}

pub fn add(rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor) -> Tensor {
    assert_eq!(a.shape(), b.shape(), "add: shapes differ");
    let sum = rec.alloc_as(a.shape(), a.dtype());
    dispatch_1d(rec, ADD, &count(a), &[a, b, &sum], a.numel());
    sum
}

/// a + b; the backward hands dy to both inputs.
pub fn add_vars(rec: &mut Recorder<'_>, tape: &mut Tape, a: &Var, b: &Var) -> Var {
    let y = add(rec, &a.value, &b.value);
    tape.record(
        &[a, b],
        y,
        Box::new(|_, dy, _| vec![Some(dy.clone()), Some(dy.clone())]),
    )
}
