//! Named configurations — the paper's regime, the software-adapter regime, the quick look — written
//! once, in `presets.json`: `cskd train/experiment --preset`, `cskd presets`, the page's preset menu
//! (through the wasm API's `presets()`) and the PyTorch twin (`--preset`, which reads the same file)
//! all take them from there. A preset states only what differs from `TrainConfig::default()` (and
//! may extend another preset); the methods it compares are `cskd experiment --methods` values.

use super::grid::MethodSpec;
use super::{Method, Mix, TrainConfig};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::OnceLock;

const PRESETS_JSON: &str = include_str!("presets.json");

/// Fields that belong to one run, not to the configuration every compared run shares.
const PER_RUN: [&str; 4] = ["method", "mix", "kdLambda", "seed"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    label: String,
    note: String,
    #[serde(default)]
    extends: Option<String>,
    methods: Vec<String>,
    #[serde(default)]
    config: Map<String, Value>,
}

/// One compared run of a preset, as the page's run pickers hold it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PresetRun {
    pub method: Method,
    pub mix: Mix,
}

/// A resolved preset: every field of the shared configuration, and the methods it compares.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preset {
    pub key: String,
    pub label: String,
    pub note: String,
    /// `cskd experiment --methods` values, in order (the page's run A and run B).
    pub methods: Vec<String>,
    pub runs: Vec<PresetRun>,
    /// The configuration every run shares (its method and seed are the defaults; each run sets its own).
    pub config: TrainConfig,
}

fn parse() -> Result<Vec<Preset>> {
    let bad = |key: &str, why: String| Error::Config(format!("preset {key:?}: {why}"));
    let entries: Vec<Entry> = serde_json::from_str(PRESETS_JSON)
        .map_err(|e| Error::Config(format!("presets.json: {e}")))?;
    let mut out: Vec<Preset> = Vec::new();
    for e in &entries {
        if out.iter().any(|p| p.key == e.key) {
            return Err(bad(&e.key, "defined twice".into()));
        }
        if let Some(f) = PER_RUN.iter().find(|f| e.config.contains_key(**f)) {
            return Err(bad(
                &e.key,
                format!("{f} belongs to a run: give it in methods"),
            ));
        }
        let mut fields = match &e.extends {
            Some(base) => {
                let base = entries
                    .iter()
                    .find(|b| &b.key == base && b.extends.is_none())
                    .ok_or_else(|| bad(&e.key, format!("extends {base:?}, not a plain preset")))?;
                base.config.clone()
            }
            None => Map::new(),
        };
        fields.extend(e.config.clone());
        let config: TrainConfig = serde_json::from_value(Value::Object(fields))
            .map_err(|err| bad(&e.key, err.to_string()))?;
        config
            .validate()
            .map_err(|err| bad(&e.key, err.to_string()))?;
        let specs = e
            .methods
            .iter()
            .map(|m| MethodSpec::parse(m))
            .collect::<Result<Vec<_>>>()
            .map_err(|err| bad(&e.key, err.to_string()))?;
        if specs.is_empty() || specs.len() > 2 || specs.iter().any(|s| s.kd) {
            return Err(bad(
                &e.key,
                "compares one or two methods, without kd".into(),
            ));
        }
        out.push(Preset {
            key: e.key.clone(),
            label: e.label.clone(),
            note: e.note.clone(),
            methods: e.methods.clone(),
            runs: specs
                .iter()
                .map(|s| PresetRun {
                    method: s.method,
                    mix: s.mix,
                })
                .collect(),
            config,
        });
    }
    Ok(out)
}

/// Every preset, in menu order (parsed once; presets.json is checked by the tests).
pub fn all() -> Result<&'static [Preset]> {
    static PRESETS: OnceLock<std::result::Result<Vec<Preset>, String>> = OnceLock::new();
    PRESETS
        .get_or_init(|| parse().map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| Error::Config(e.clone()))
}

/// The preset named `key`, or an error listing the names.
pub fn find(key: &str) -> Result<&'static Preset> {
    let all = all()?;
    all.iter().find(|p| p.key == key).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|p| p.key.as_str()).collect();
        Error::Config(format!(
            "--preset {key:?} is not a preset: expected one of {}",
            names.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_json_resolves_to_valid_configurations() {
        let all = all().unwrap();
        let keys: Vec<&str> = all.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["quick", "software", "paper", "mixup", "pskd"]);
        for p in all {
            assert!(p.note.len() > 40, "{} explains itself", p.key);
            assert_eq!(p.runs.len(), p.methods.len());
        }
        // Issue 15's paper regime, and presets extending it keep every field but their own.
        let paper = find("paper").unwrap();
        let c = &paper.config;
        assert_eq!(
            (c.per_class, c.test_per_class, c.width, c.batch, c.epochs),
            (100, 0, 32, 128, 60)
        );
        assert_eq!((c.lr, c.momentum, c.weight_decay), (0.1, 0.9, 5e-4));
        let mixup = &find("mixup").unwrap().config;
        assert_eq!(mixup.per_class, 100);
        assert_eq!(
            find("mixup").unwrap().runs[1],
            PresetRun {
                method: Method::Cskd,
                mix: Mix::Mixup
            }
        );
        assert_eq!(find("pskd").unwrap().runs[0].method, Method::Pskd);
    }

    #[test]
    fn an_unknown_preset_lists_the_names() {
        let e = find("papr").unwrap_err().to_string();
        assert!(e.contains("quick, software, paper, mixup, pskd"), "{e}");
    }
}
