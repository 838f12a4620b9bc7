//! A kernel whose pipeline cannot be built is reported by name (its error scope), not as an
//! anonymous validation error at the next readback.

use cskd::gpu::{BufferPool, Gpu, Kernel, Recorder, Tensor};

#[test]
fn a_pipeline_that_fails_to_build_names_its_kernel() {
    // A device of its own: the error it records must not leak into other tests.
    let gpu = pollster::block_on(Gpu::with_backends(wgpu::Backends::VULKAN)).expect("device");
    let pool = BufferPool::new();
    let x = Tensor::zeros(&gpu.device, &[1, 1, 2, 2]);
    let y = Tensor::zeros(&gpu.device, &[1, 1, 1, 1]);
    // An override constant the shader does not declare: pipeline creation fails validation.
    let bad = Kernel::with("pool", "max_forward", &[("NO_SUCH_CONSTANT", 1.0)]);
    let mut rec = Recorder::new(&gpu, &pool);
    rec.dispatch(bad, &[0u32; 4], &[&x, &y], [1, 1, 1]);
    rec.submit();
    gpu.wait().ok();
    let err = gpu
        .check()
        .expect_err("the broken pipeline must be reported")
        .to_string();
    assert!(
        err.contains("kernel pool::max_forward failed to build"),
        "error does not name the kernel: {err}"
    );
}
