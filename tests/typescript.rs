//! The JS API's `TrainConfig` TypeScript type is generated from the Rust types
//! (`cskd::cli::typescript`); the committed file the web API includes must be that output.
//! `CSKD_BLESS=1 cargo test --test typescript` rewrites it after a configuration change.
#![cfg(not(target_arch = "wasm32"))]

#[test]
fn the_committed_train_config_type_is_generated_from_the_rust_types() {
    let generated = cskd::cli::typescript::train_config_interface();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/train_config.d.ts");
    if std::env::var("CSKD_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is not what the Rust types generate; run CSKD_BLESS=1 cargo test --test typescript\n--- generated:\n{generated}",
        path.display()
    );
    // Every field of the configuration is in it, with its JSON name.
    let defaults = serde_json::to_value(cskd::train::TrainConfig::default()).unwrap();
    for key in defaults.as_object().unwrap().keys() {
        assert!(generated.contains(&format!("  {key}?: ")), "{key}");
    }
}
