//! The TypeScript type of the JS API's training configuration, generated from the Rust types:
//! field names and defaults from `TrainConfig::default()` (serde's camelCase JSON), enum values
//! from their clap value lists (serde's names), and each field's description from the help text
//! of the `cskd train` flag that sets it. `src/web/train_config.d.ts` holds the output (the web API
//! includes it); `tests/typescript.rs` fails when it differs, and `CSKD_BLESS=1` rewrites it.

use super::train::TrainArgs;
use crate::model::ModelName;
use crate::train::{Method, Mix, Precision, Schedule, TrainConfig};
use clap::{Args, ValueEnum};

/// serde's names of an enum's values, as a TypeScript union.
fn union<T: ValueEnum + serde::Serialize>() -> String {
    T::value_variants()
        .iter()
        .map(|v| serde_json::to_string(v).expect("plain data"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// camelCase JSON key → the `train` flag's name (`perClass` → `per-class`).
fn flag_of(key: &str) -> String {
    match key {
        "augment" => "no-augment".into(),
        _ => key
            .chars()
            .flat_map(|c| {
                if c.is_ascii_uppercase() {
                    vec!['-', c.to_ascii_lowercase()]
                } else {
                    vec![c]
                }
            })
            .collect(),
    }
}

/// The `TrainConfig` interface, one documented optional field per configuration field.
pub fn train_config_interface() -> String {
    let cmd = TrainArgs::augment_args(clap::Command::new("train"));
    let defaults = TrainConfig::default().to_json_value();
    let mut out = String::from(
        "// Generated from the Rust types by `cskd::cli::typescript` (tests/typescript.rs checks it;\n\
         // CSKD_BLESS=1 cargo test --test typescript rewrites it). Do not edit by hand.\n\
         /** Training configuration; every field is optional (its default is in brackets). */\n\
         export interface TrainConfig {\n",
    );
    for (key, default) in defaults.as_object().expect("a struct") {
        let ty = match key.as_str() {
            "model" => union::<ModelName>(),
            "method" => union::<Method>(),
            "mix" => union::<Mix>(),
            "schedule" => union::<Schedule>(),
            "precision" => union::<Precision>(),
            _ => match default {
                serde_json::Value::Bool(_) => "boolean".into(),
                serde_json::Value::Number(_) => "number".into(),
                other => panic!("no TypeScript type for {key} = {other}"),
            },
        };
        let flag = flag_of(key);
        let help = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(flag.as_str()))
            .and_then(|a| a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_else(|| panic!("`cskd train` has no --{flag} for {key}"));
        // The help's own "[default …]" is the CLI's; the JSON default is stated once, here.
        let help = help.split(" [default").next().unwrap_or_default().trim();
        let help = match key.as_str() {
            "augment" => "Random crop + flip".to_string(),
            _ => help.trim_end_matches('.').to_string(),
        };
        let default = match default.as_f64() {
            Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
            _ => default.to_string(),
        };
        out.push_str(&format!("  /** {help} [{default}] */\n  {key}?: {ty};\n"));
    }
    out.push_str("}\n");
    out
}
