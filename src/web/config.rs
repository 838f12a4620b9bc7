//! What the JS side hands in: the configuration object and the data set's bytes.

use super::{js_err, JsResult};
use crate::data::{self, Cifar};
use crate::train::TrainConfig;
use js_sys::Object;
use wasm_bindgen::prelude::*;

/// The JS config object through JSON, so a misspelt or unknown field is an error naming it
/// (serde_wasm_bindgen only looks up the known keys and would ignore it).
pub(super) fn parse_config(config: &JsValue) -> JsResult<TrainConfig> {
    if config.is_undefined() || config.is_null() {
        return Ok(TrainConfig::default());
    }
    // JSON.stringify turns NaN and ±Infinity into null: name the field before that happens.
    if config.is_object() {
        for entry in Object::entries(config.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let value = pair.get(1);
            if value.as_f64().is_some_and(|v| !v.is_finite()) {
                return Err(js_err(format!(
                    "invalid configuration: {} = {} is not a finite number",
                    pair.get(0).as_string().unwrap_or_default(),
                    value.as_f64().unwrap_or_default()
                )));
            }
        }
    }
    let text = js_sys::JSON::stringify(config)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| js_err("invalid configuration: not a JSON-compatible object"))?;
    TrainConfig::from_json(&text).map_err(js_err)
}

/// A .tar.gz archive (gzip magic) or a loose .bin file.
pub(super) fn parse_data(name: &str, bytes: &[u8]) -> JsResult<Cifar> {
    let r = if bytes.starts_with(&[0x1f, 0x8b]) {
        data::from_archive_bytes(name, bytes)
    } else {
        data::from_bin_bytes(name, bytes, None)
    };
    r.map_err(js_err)
}
