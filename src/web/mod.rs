//! The JavaScript API (wasm-bindgen): the npm package's surface and what the demo page uses.
//! Every failure becomes a JS `Error` with a message; inputs are checked before they reach code
//! that could panic, so nothing traps with "unreachable".

mod api;
mod config;
mod device;
mod image;
mod kernels;
mod trainer;

pub use api::{adapter_info, bench_w1, presets, profile_step};
pub use device::{destroy_device_for_testing, gpu_lost, reset_gpu, webgpu_available};
pub use kernels::{bench_kernels, kernel_names};
pub use trainer::Trainer;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsError>;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: serde::Serialize>(v: &T) -> JsResult<JsValue> {
    // Plain objects (not Maps), so the page can spread and JSON them.
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

// The TypeScript types of the API: the configuration generated from the Rust types
// (`cskd::cli::typescript`, checked by tests/typescript.rs), the results written by hand.
#[wasm_bindgen(typescript_custom_section)]
const _: &str = include_str!("train_config.d.ts");
#[wasm_bindgen(typescript_custom_section)]
const _: &str = include_str!("types.d.ts");

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A JS value as an error message shows it: `0`, `2.5`, `"3"`, `undefined`, `NaN`.
fn shown(v: &JsValue) -> String {
    let debug = format!("{v:?}");
    let inner = debug
        .strip_prefix("JsValue(")
        .and_then(|d| d.strip_suffix(')'));
    inner.map_or(debug.clone(), String::from)
}

fn set(obj: &Object, key: &str, value: &JsValue) -> JsResult<()> {
    Reflect::set(obj, &key.into(), value)
        .map(|_| ())
        .map_err(|_| js_err(format!("could not set {key}")))
}
