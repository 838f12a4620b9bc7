//! The API's free functions: the adapter, W1 in this browser, a profiled step.

use super::device::gpu;
use super::{js_err, to_js, JsResult};
use js_sys::Object;
use wasm_bindgen::prelude::*;

/// The adapter: name, backend, limits. Rejects when there is no WebGPU adapter.
#[wasm_bindgen(js_name = adapterInfo, unchecked_return_type = "AdapterInfo")]
pub async fn adapter_info() -> JsResult<JsValue> {
    to_js(&gpu().await?.summary())
}

/// W1 of docs/BENCHMARKS.md in this browser: `anchors` anchors (+ as many partners with `cskd`) per step,
/// `steps` timed steps after 3 warm-up steps. Resolves to {method, imagesPerStep, medianStepMs, imagesPerSec, …}.
#[wasm_bindgen(js_name = benchW1, unchecked_return_type = "W1Result")]
pub async fn bench_w1(cskd: bool, anchors: usize, steps: usize) -> JsResult<JsValue> {
    if anchors == 0 || steps == 0 {
        return Err(js_err("benchW1 needs at least one anchor and one step"));
    }
    to_js(
        &crate::bench::w1(&*gpu().await?, cskd, anchors, steps)
            .await
            .map_err(js_err)?,
    )
}

/// One W1 step timed per dispatch with GPU timestamps and summed per op family (as `cskd bench
/// --profile`). Rejects when the adapter lacks the timestamp-query feature.
#[wasm_bindgen(js_name = profileStep, unchecked_return_type = "StepProfile")]
pub async fn profile_step(
    #[wasm_bindgen(unchecked_param_type = "ProfileOptions | undefined")] options: JsValue,
) -> JsResult<JsValue> {
    let (mut cskd, mut anchors) = (true, 16usize);
    if !(options.is_undefined() || options.is_null()) {
        if !options.is_object() {
            return Err(js_err("profileStep options must be an object"));
        }
        for entry in Object::entries(options.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let (key, value) = (pair.get(0).as_string().unwrap_or_default(), pair.get(1));
            match (key.as_str(), value.as_bool(), value.as_f64()) {
                ("cskd", Some(b), _) => cskd = b,
                ("anchors", _, Some(n)) if n.fract() == 0.0 && (1.0..=65536.0).contains(&n) => {
                    anchors = n as usize
                }
                _ => {
                    return Err(js_err(format!(
                        "profileStep options: {key} = {value:?} is not valid (cskd: boolean, anchors: 1..=65536)"
                    )))
                }
            }
        }
    }
    to_js(
        &crate::bench::profile_w1(&*gpu().await?, cskd, anchors)
            .await
            .map_err(js_err)?,
    )
}

/// The named configurations of the page's preset menu and `cskd --preset` (one list, in
/// src/train/presets.json), each resolved to every field. Needs no GPU.
#[wasm_bindgen(unchecked_return_type = "Preset[]")]
pub fn presets() -> JsResult<JsValue> {
    // Through JSON text, so f32 fields reach the form as written (0.0005, not 0.0005000000237).
    let text =
        serde_json::to_string(crate::train::preset::all().map_err(js_err)?).map_err(js_err)?;
    to_js(&serde_json::from_str::<serde_json::Value>(&text).map_err(js_err)?)
}
