//! The kernel registry, kernel by kernel and family by family: `registry_tests!` stamps one test
//! per kernel and family (run one with e.g. `cargo test --test kernels conv3x3s1_forward::compact`),
//! each checking the kernel at its small odd and aligned shapes and every edge case.

use cskd::gpu::Gpu;

fn check(gpu: &Gpu, name: &str) {
    let shapes =
        pollster::block_on(cskd::bench::check_kernel(gpu, name)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        shapes.len() > 2,
        "{name}: the tests add edge cases to the two small shapes, checked {shapes:?}"
    );
}

// Flags in brackets stamp more paths (see `family_tests!`): `subgroups`, a kernel with a subgroup
// variant, also stamped with subgroups off; `f16`, a kernel reading or writing activations, also
// stamped with f16 activations (mixed precision).
macro_rules! registry_tests {
    ($($test:ident = $name:literal $([$($flag:ident),+])?),+ $(,)?) => {
        /// The kernels stamped here, in the registry's order.
        const STAMPED: &[&str] = &[$($name),+];
        $(fn $test(gpu: &Gpu) {
            check(gpu, $name)
        })+
        $(crate::family_tests!($($($flag:)+)? $test);)+
    };
}

registry_tests! {
    conv3x3s1_forward = "conv3x3s1.forward" [f16],
    conv3x3s1_input_grad = "conv3x3s1.input_grad",
    conv3x3s1_weight_grad = "conv3x3s1.weight_grad" [f16],
    conv3x3s2_forward = "conv3x3s2.forward" [f16],
    conv3x3s2_input_grad = "conv3x3s2.input_grad",
    conv3x3s2_weight_grad = "conv3x3s2.weight_grad" [f16],
    conv1x1_forward = "conv1x1.forward" [f16],
    conv1x1_input_grad = "conv1x1.input_grad",
    conv1x1_weight_grad = "conv1x1.weight_grad" [f16],
    matmul = "matmul",
    linear_forward = "linear.forward",
    linear_input_grad = "linear.input_grad",
    linear_weight_grad = "linear.weight_grad",
    linear_bias_grad = "linear.bias_grad",
    batchnorm_train = "batchnorm.train" [subgroups, f16],
    batchnorm_eval = "batchnorm.eval" [f16],
    batchnorm_backward = "batchnorm.backward" [subgroups, f16],
    batchnorm_relu_train = "batchnorm_relu.train" [subgroups, f16],
    batchnorm_relu_eval = "batchnorm_relu.eval" [f16],
    batchnorm_relu_backward = "batchnorm_relu.backward" [subgroups, f16],
    batchnorm_relu_backward_in_place = "batchnorm_relu.backward_in_place" [subgroups, f16],
    relu_forward = "relu.forward" [f16],
    relu_backward = "relu.backward" [f16],
    add = "add" [f16],
    maxpool_forward = "maxpool.forward" [f16],
    maxpool_backward = "maxpool.backward" [f16],
    avgpool_forward = "avgpool.forward" [f16],
    avgpool_backward = "avgpool.backward",
    cskd_loss = "cskd_loss" [subgroups],
    soft_loss = "soft_loss" [subgroups],
    softmax = "softmax",
    mix = "mix" [f16],
    sgd = "sgd",
    sgd_nesterov = "sgd.nesterov",
    augment = "augment" [f16],
}

#[test]
fn every_kernel_of_the_registry_is_stamped() {
    assert_eq!(STAMPED, cskd::bench::kernel_names().as_slice());
}
