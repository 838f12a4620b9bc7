//! `cskd bench kernels` in the browser: every kernel of the registry (`crate::bench::kernels`)
//! checked against its CPU reference on this browser's WebGPU, then timed, on any kernel family.

use super::device::gpu;
use super::{js_err, shown, to_js, JsResult};
use crate::bench::{self, KernelSize};
use crate::gpu::KernelFamily;
use js_sys::{Array, Object};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The registry's kernels, in the order `benchKernels` reports them.
#[wasm_bindgen(js_name = kernelNames)]
pub fn kernel_names() -> Vec<String> {
    bench::kernel_names()
        .into_iter()
        .map(String::from)
        .collect()
}

#[derive(Serialize)]
struct KernelBench {
    family: &'static str,
    kernels: Vec<bench::KernelCheck>,
    /// Kernels not run on this adapter, and why.
    skipped: Vec<Skipped>,
}

#[derive(Serialize)]
struct Skipped {
    kernel: String,
    reason: &'static str,
}

/// Kernels a browser's software adapter (SwiftShader) cannot compile: the tiled family's
/// register-tiled 3×3 stride-1 convolution (conv2d_tiled.wgsl: forward3, which the input gradient
/// runs too, and backward_weight3) grows Chromium's GPU process past 12 GB in 2–3 minutes, after
/// which the device is lost (Chromium 156, 2026-12-07). The adapter never picks the tiled family
/// there; `benchKernels` skips them rather than lose the device.
const SOFTWARE_CANNOT_COMPILE: [(KernelFamily, &str); 3] = [
    (KernelFamily::Tiled, "conv3x3s1.forward"),
    (KernelFamily::Tiled, "conv3x3s1.input_grad"),
    (KernelFamily::Tiled, "conv3x3s1.weight_grad"),
];
const SOFTWARE_REASON: &str = "SwiftShader's shader compiler grows past 12 GB on conv2d_tiled.wgsl and the device is lost: the compact family is this adapter's";

/// Checks each kernel at its small odd and aligned shapes against the CPU reference, then times it
/// (median of `reps` launches) at the small odd shape or W1's: {family, kernels: [{kernel,
/// checkedShape, maxErr, tolerance, medianMs, flops, bytes, intensity, …}], skipped: [{kernel,
/// reason}]}. Rejects, naming the kernel, shape and output, when one does not match its reference.
#[wasm_bindgen(js_name = benchKernels, unchecked_return_type = "KernelBench")]
pub async fn bench_kernels(
    #[wasm_bindgen(unchecked_param_type = "KernelBenchOptions | undefined")] options: JsValue,
) -> JsResult<JsValue> {
    let o = parse(&options)?;
    let device = gpu().await?;
    let family = o.family.unwrap_or_else(|| device.family());
    let g = device.with_family(family);
    let software = KernelFamily::for_adapter(&g.info) == KernelFamily::Compact;
    let (skipped, run): (Vec<String>, Vec<String>) = o
        .kernels
        .into_iter()
        .partition(|k| software && SOFTWARE_CANNOT_COMPILE.contains(&(family, k.as_str())));
    let rows = bench::kernels_named(&g, &run, o.batch, o.reps, o.size)
        .await
        .map_err(js_err)?;
    let skipped = skipped.into_iter().map(|kernel| Skipped {
        kernel,
        reason: SOFTWARE_REASON,
    });
    to_js(&KernelBench {
        family: family.name(),
        kernels: rows,
        skipped: skipped.collect(),
    })
}

struct Options {
    family: Option<KernelFamily>,
    kernels: Vec<String>,
    reps: usize,
    size: KernelSize,
    batch: usize,
}

const USAGE: &str = "family: \"tiled\" | \"compact\" | \"shared\", kernels: names from kernelNames(), reps: 1..=1000, size: \"small\" | \"w1\", batch: 1..=1024";

fn parse(options: &JsValue) -> JsResult<Options> {
    let mut o = Options {
        family: None,
        kernels: kernel_names(),
        reps: 3,
        size: KernelSize::Small,
        batch: 16,
    };
    if options.is_undefined() || options.is_null() {
        return Ok(o);
    }
    if !options.is_object() || Array::is_array(options) {
        return Err(js_err(format!(
            "benchKernels options must be an object ({USAGE})"
        )));
    }
    let int = |v: &JsValue, max: f64| {
        v.as_f64()
            .filter(|n| n.fract() == 0.0 && (1.0..=max).contains(n))
            .map(|n| n as usize)
    };
    for entry in Object::entries(options.unchecked_ref()).iter() {
        let pair: Array = entry.unchecked_into();
        let (key, value) = (pair.get(0).as_string().unwrap_or_default(), pair.get(1));
        let bad = || {
            js_err(format!(
                "benchKernels options: {key} = {} is not valid ({USAGE})",
                shown(&value)
            ))
        };
        match key.as_str() {
            "family" => {
                let name = value.as_string().ok_or_else(bad)?;
                o.family = Some(
                    name.parse()
                        .map_err(|e: String| js_err(format!("benchKernels options: {e}")))?,
                );
            }
            "kernels" if Array::is_array(&value) => {
                let names: Array = value.clone().unchecked_into();
                o.kernels = names
                    .iter()
                    .map(|n| n.as_string().ok_or_else(bad))
                    .collect::<JsResult<_>>()?;
                if o.kernels.is_empty() {
                    return Err(bad());
                }
                let all = kernel_names();
                if let Some(n) = o.kernels.iter().find(|n| !all.contains(n)) {
                    return Err(js_err(format!(
                        "benchKernels options: no kernel {n:?} in the registry; kernels: {}",
                        all.join(", ")
                    )));
                }
            }
            "reps" => o.reps = int(&value, 1000.0).ok_or_else(bad)?,
            "batch" => o.batch = int(&value, 1024.0).ok_or_else(bad)?,
            "size" => {
                o.size = match value.as_string().as_deref() {
                    Some("small") => KernelSize::Small,
                    Some("w1") => KernelSize::W1,
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(o)
}
