//! Checking kernels against their CPU references: a case is launched, its outputs read back and
//! each compared with its reference within its tolerance; the shader entry points the checks
//! dispatched are collected, so that a timed shape dispatching any other one fails.

use super::cases::{Case, Expect, KernelCase, Shape};
use crate::bench::worst_rel_err;
use crate::error::{Error, Result};
use crate::gpu::profile::DispatchTime;
use crate::gpu::{readback, BufferPool, Dtype, Gpu, Recorder};

/// What the checks of one kernel found.
pub(super) struct Checked {
    /// The largest error of any output at any shape checked.
    pub max_err: f64,
    /// The shapes checked, in order.
    pub shapes: Vec<String>,
    /// The kernels (`shader::entry`) they dispatched.
    pub entries: Vec<String>,
    /// The case of the first shape (the small odd one).
    pub first: Option<Case>,
}

/// Checks `kernel` at its small odd and aligned shapes, then at every edge case when `edges`.
pub(super) async fn check(
    gpu: &Gpu,
    pool: &BufferPool,
    kernel: &KernelCase,
    edges: bool,
    batch: usize,
) -> Result<Checked> {
    let mut checked = Checked {
        max_err: 0.0,
        shapes: Vec::new(),
        entries: Vec::new(),
        first: None,
    };
    let small = [Shape::Odd, Shape::Aligned].into_iter();
    for shape in small.chain((0..).map(Shape::Edge).take_while(|_| edges)) {
        let Some(case) = kernel.case(gpu, pool, shape, batch) else {
            break; // past the last edge case
        };
        let what = format!("{} at {}", kernel.describe(gpu), case.shape);
        let (got, records) = launch(gpu, pool, &case, true).await?;
        let seen = kernels_of(&records);
        let err = compare(&what, &got, &case.want, kernel.tolerance)?;
        checked.max_err = checked.max_err.max(err);
        for entry in seen {
            if !checked.entries.contains(&entry) {
                checked.entries.push(entry);
            }
        }
        checked.shapes.push(case.shape.clone());
        checked.first.get_or_insert(case);
    }
    Ok(checked)
}

/// Fails unless every kernel the timed case dispatches was among those the checks ran.
pub(super) fn covered(
    what: &str,
    timed_shape: &str,
    dispatches: &[String],
    checked: &Checked,
) -> Result<()> {
    match dispatches.iter().find(|k| !checked.entries.contains(k)) {
        None => Ok(()),
        Some(k) => Err(Error::Gpu(format!(
            "{what} at {timed_shape} dispatches {k}, which its small shapes ({}) never ran: it is unchecked",
            checked.shapes.join("; ")
        ))),
    }
}

/// An output as read back: its shape, values and dtype.
pub(super) type Output = (Vec<usize>, Vec<f32>, Dtype);

/// Runs a case once; returns its outputs (when `read`) and its dispatches as the profiling
/// recorder saw them (kernel, family, FLOPs, bytes bound, grid; none where the adapter cannot
/// profile).
pub(super) async fn launch(
    gpu: &Gpu,
    pool: &BufferPool,
    case: &Case,
    read: bool,
) -> Result<(Vec<Output>, Vec<DispatchTime>)> {
    let profiled = Recorder::profiled(gpu, pool);
    let profiling = profiled.is_ok();
    let mut rec = profiled.unwrap_or_else(|_| Recorder::new(gpu, pool));
    let outputs = (case.run)(&mut rec);
    let records = if profiling {
        crate::gpu::profile::finish(&mut rec).await?.1
    } else {
        Vec::new()
    };
    let got = if read {
        let values = readback::read_many(&mut rec, &outputs.iter().collect::<Vec<_>>()).await?;
        outputs
            .iter()
            .zip(values)
            .map(|(t, v)| (t.shape().to_vec(), v, t.dtype()))
            .collect()
    } else {
        gpu.wait()?;
        Vec::new()
    };
    Ok((got, records))
}

/// The kernels (`shader::entry`) of `records`, in order of first use.
pub(super) fn kernels_of(records: &[DispatchTime]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for t in records {
        if !seen.contains(&t.kernel) {
            seen.push(t.kernel.clone());
        }
    }
    seen
}

/// The largest error of the outputs against their references; an error naming `what` and the
/// output when one exceeds its tolerance (or is missing, not finite or of another shape), or when a
/// ReLU's reference masks none or all of its elements.
pub(super) fn compare(what: &str, got: &[Output], want: &[Expect], tolerance: f64) -> Result<f64> {
    let fail = |msg: String| Err(Error::Gpu(format!("{what}: {msg}")));
    if got.len() != want.len() {
        return fail(format!(
            "{} outputs, the CPU reference has {}",
            got.len(),
            want.len()
        ));
    }
    let mut max_err = 0.0f64;
    for ((shape, g, dtype), w) in got.iter().zip(want) {
        // An f16 output also carries its own rounding: half an ulp, 2^-11 relative.
        let rounding = if *dtype == Dtype::F16 {
            0.5f64.powi(11)
        } else {
            0.0
        };
        let tolerance = w.tolerance.unwrap_or(tolerance) + rounding;
        let (i, err) = worst_rel_err(g, &w.values);
        if err.is_nan() || err > tolerance {
            let at = match (g.get(i), w.values.get(i), g.len() == w.values.len()) {
                (Some(g), Some(v), true) => format!(" (element {i}: {g} instead of {v})"),
                _ => format!(" ({} values instead of {})", g.len(), w.values.len()),
            };
            return fail(format!(
                "{} does not match the CPU reference: max relative error {err:.2e} > tolerance {tolerance:.0e}{at}",
                w.what
            ));
        }
        if let Some(want_shape) = w.shape.as_ref().filter(|s| *s != shape) {
            return fail(format!(
                "{} has shape {shape:?}, not {want_shape:?}",
                w.what
            ));
        }
        let zeros = w.values.iter().filter(|&&v| v == 0.0).count();
        if w.masks && (zeros == 0 || zeros == w.values.len()) {
            return fail(format!(
                "the reference {} masks {zeros} of its {} elements: the case does not test the ReLU",
                w.what,
                w.values.len()
            ));
        }
        max_err = max_err.max(err);
    }
    Ok(max_err)
}

#[cfg(test)]
mod tests {
    use super::{compare, covered, Checked, Expect, Output};
    use crate::gpu::Dtype;

    #[test]
    fn a_timed_shape_may_dispatch_only_checked_kernels() {
        let checked = Checked {
            max_err: 0.0,
            shapes: vec!["N3".into(), "N4".into()],
            entries: vec!["conv2d_compact3::forward8".into()],
            first: None,
        };
        let seen = |k: &str| vec!["conv2d_compact3::forward8".to_string(), k.to_string()];
        assert!(covered("k", "N64", &seen("conv2d_compact3::forward8"), &checked).is_ok());
        let e = covered(
            "kernel conv3x3s1.forward (compact family)",
            "N64",
            &seen("conv2d_compact3::forward16"),
            &checked,
        );
        let msg = e.unwrap_err().to_string();
        assert!(
            msg.contains(
                "conv3x3s1.forward (compact family) at N64 dispatches conv2d_compact3::forward16"
            ) && msg.contains("(N3; N4) never ran"),
            "{msg}"
        );
    }

    fn out(v: Vec<f32>) -> Vec<Output> {
        vec![(vec![v.len()], v, Dtype::F32)]
    }

    #[test]
    fn a_mismatch_fails_loudly_with_the_kernels_name() {
        let want = || vec![Expect::new("y", vec![1.0, -2.0, 1000.0])];
        let ok = compare("k", &out(vec![1.0, -2.0, 1000.05]), &want(), 1e-4).unwrap();
        assert!(
            (ok - 5e-5).abs() < 1e-7,
            "relative to |reference| = 1000: {ok}"
        );
        for got in [
            vec![1.0, -2.001, 1000.0], // off by 1e-3 > 1e-4
            vec![1.0, f32::NAN, 1000.0],
            vec![1.0, -2.0],
        ] {
            let e = compare(
                "kernel relu.forward (tiled family) at N3",
                &out(got),
                &want(),
                1e-4,
            );
            let msg = e.unwrap_err().to_string();
            assert!(
                msg.contains("relu.forward") && msg.contains("tolerance"),
                "{msg}"
            );
        }
        assert!(
            compare("k", &[], &want(), 1e-4).is_err(),
            "an output missing"
        );
        // An output's own tolerance replaces the kernel's.
        let loose = vec![Expect::new("y", vec![1.0, -2.0, 1000.0]).tolerance(1e-2)];
        assert!(compare("k", &out(vec![1.0, -2.001, 1000.0]), &loose, 1e-4).is_ok());
    }

    #[test]
    fn an_f16_output_is_allowed_its_rounding_and_no_more() {
        let want = || vec![Expect::new("y", vec![1.0, 1000.0])];
        let f16 = |v: Vec<f32>| vec![(vec![2], v, Dtype::F16)];
        // 1000.25 is within half an f16 ulp of 1000 (2^-11 relative), but not within 1e-6.
        assert!(compare("k", &f16(vec![1.0, 1000.25]), &want(), 1e-6).is_ok());
        assert!(compare("k", &out(vec![1.0, 1000.25]), &want(), 1e-6).is_err());
        assert!(compare("k", &f16(vec![1.0, 1000.6]), &want(), 1e-6).is_err());
    }

    #[test]
    fn shapes_and_relu_masks_are_checked() {
        let want = vec![Expect::new("y", vec![0.0, 1.0]).shaped(&[1, 2])];
        let got: Vec<Output> = vec![(vec![2, 1], vec![0.0, 1.0], Dtype::F32)];
        let msg = compare("k", &got, &want, 0.0).unwrap_err().to_string();
        assert!(msg.contains("shape"), "{msg}");
        let all_kept = vec![Expect::new("y", vec![1.0, 2.0]).masks(true)];
        let msg = compare("k", &out(vec![1.0, 2.0]), &all_kept, 0.0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("masks 0 of its 2"), "{msg}");
        let some = vec![Expect::new("y", vec![0.0, 2.0]).masks(true)];
        assert!(compare("k", &out(vec![0.0, 2.0]), &some, 0.0).is_ok());
    }
}
