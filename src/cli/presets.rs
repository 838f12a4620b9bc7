//! `cskd presets`: the named configurations of `--preset` (src/train/presets.json), as text or as
//! resolved JSON (every field) for scripts.

use crate::error::Result;
use crate::train::{preset, TrainConfig};

#[derive(clap::Args)]
pub struct PresetsArgs {
    /// Print every preset resolved to a full configuration, as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: PresetsArgs) -> Result<()> {
    let all = preset::all()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(all).expect("plain data"));
        return Ok(());
    }
    let defaults = TrainConfig::default().to_json_value();
    for p in all {
        println!("{} — {}", p.key, p.label);
        println!("  methods: {}", p.methods.join(", "));
        let config = p.config.to_json_value();
        let changed: Vec<String> = config
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| defaults.get(k.as_str()) != Some(*v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("  config (besides the defaults): {}", changed.join(" "));
        println!("  {}\n", p.note);
    }
    println!(
        "Use one with `cskd experiment --preset NAME --out DIR` (or `cskd train --preset NAME`);"
    );
    println!("flags given beside it change its values.");
    Ok(())
}
