//! The fuzz harnesses (`fuzz/harness.rs`) on stable, in CI: every committed corpus input
//! (`fuzz/corpus/<target>/`, seeds and past finds) and a proptest sweep of structured random
//! inputs per target. Nightly cargo-fuzz runs (`scripts/fuzz.sh`) go much further; this catches
//! regressions without it. A panic anywhere fails the test.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/harness.rs"]
mod harness;

use proptest::prelude::*;
use std::path::Path;

#[test]
fn every_committed_corpus_input_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for target in harness::TARGETS {
        let dir = root.join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| harness::run(target, &bytes));
            assert!(
                run.is_ok(),
                "fuzz target {target} panics on {}",
                path.display()
            );
            n += 1;
        }
        assert!(n > 0, "no corpus for {target}");
    }
}

#[test]
fn the_seeds_reach_a_successful_read_of_every_parser() {
    // Else the fuzzer starts at the first error and explores little past it.
    for (target, name) in [
        ("archive", "cifar10.tar.gz"),
        ("archive", "cifar100.tar.gz"),
        ("bin", "c10-none"),
        ("bin", "c100-hint"),
        ("dir", "cifar10"),
        ("dir", "cifar100"),
        ("dir", "loose-top"),
        ("checkpoint", "meta-only"),
        ("checkpoint", "real-smallcnn-w4"),
        ("config", "full"),
        ("config", "partial"),
        ("state_dict", "real-smallcnn-w4"),
        ("state_dict", "plain-smallcnn-w4"),
        ("grid", "ce-cskd"),
        ("grid", "mixed-kd"),
        ("grid", "repeats"),
    ] {
        assert!(
            harness::run(target, &seed(target, name)),
            "{target}/{name} is refused"
        );
    }
    for (target, name) in [
        ("archive", "cut-off.tar.gz"),
        ("bin", "bad-label"),
        ("config", "misspelt"),
        ("state_dict", "ddp-prefix"),
        ("state_dict", "nan-weight"),
        ("state_dict", "negative-var"),
        ("grid", "bad-method"),
    ] {
        assert!(
            !harness::run(target, &seed(target, name)),
            "{target}/{name} is accepted"
        );
    }
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `bytes` with some bytes overwritten, then perhaps cut short.
fn mutated(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = bytes.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 1..8),
        proptest::option::of(0..len),
    )
        .prop_map(move |(flips, cut)| {
            let mut b = bytes.clone();
            for (i, v) in flips {
                b[i] = v;
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b
        })
}

/// A JSON value of the kinds a hostile config may hold.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    prop_oneof![
        any::<f64>().prop_map(|v| json!(v)),
        any::<i64>().prop_map(|v| json!(v)),
        any::<u64>().prop_map(|v| json!(v)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        "[a-z0-9]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "cskd", "ce", "ls", "step", "cosine", "smallcnn", "resnet10", "resnet18"
        ])
        .prop_map(|s| json!(s)),
    ]
}

const CONFIG_KEYS: [&str; 18] = [
    "model",
    "width",
    "method",
    "temperature",
    "lambda",
    "smoothing",
    "lr",
    "momentum",
    "weightDecay",
    "batch",
    "epochs",
    "schedule",
    "seed",
    "augment",
    "perClass",
    "testPerClass",
    "learningRate",
    "Lr",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn archive_mutations(b in mutated(seed("archive", "cifar10.tar.gz"))) {
        harness::archive(&b);
    }

    #[test]
    fn cifar100_archive_mutations(b in mutated(seed("archive", "cifar100.tar.gz"))) {
        harness::archive(&b);
    }

    #[test]
    fn bin_of_any_size_near_whole_records(
        hint in any::<u8>(),
        records in 0usize..4,
        extra in 0usize..8,
        kind in 0usize..2,
        fill in any::<u8>(),
    ) {
        let len = records * (3073 + kind) + extra;
        let mut b = vec![hint];
        b.extend((0..len).map(|i| fill.wrapping_add((i % 7) as u8)));
        harness::bin(&b);
    }

    #[test]
    fn directory_layouts(entries in proptest::collection::vec(
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..24)), 0..12)
    ) {
        let mut b = Vec::new();
        for (sel, body) in entries {
            b.push(sel);
            b.push(body.len() as u8);
            b.extend(body);
        }
        harness::dir(&b);
    }

    #[test]
    fn state_dict_mutations(b in mutated(seed("state_dict", "plain-smallcnn-w4"))) {
        harness::state_dict(&b);
    }

    #[test]
    fn grids_of_any_methods_and_seeds(
        methods in proptest::collection::vec("(ce|cskd|ls|pskd|kd|x)(\\+(mixup|cutmix|kd|y))?", 0..5),
        seeds in proptest::collection::vec("[0-9]{1,3}|-1|x", 0..5),
    ) {
        harness::grid(format!("{}\n{}", methods.join(","), seeds.join(",")).as_bytes());
    }

    #[test]
    fn checkpoint_mutations(b in mutated(seed("checkpoint", "meta-only"))) {
        harness::checkpoint(&b);
    }

    #[test]
    fn checkpoint_metadata_of_any_json(
        key in prop::sample::select(vec!["model", "config", "state", "history", "classes"]),
        fields in proptest::collection::vec((prop::sample::select(CONFIG_KEYS.to_vec()), json_value()), 0..6),
    ) {
        let value: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let header = serde_json::json!({
            "__metadata__": {"format": "cskd-1", "model": "{\"name\":\"smallcnn\",\"width\":4,\"classes\":10}",
                             key: serde_json::Value::Object(value).to_string()},
        });
        let h = header.to_string().into_bytes();
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend(h);
        harness::checkpoint(&b);
    }

    #[test]
    fn configs_of_any_fields(fields in proptest::collection::vec(
        (prop::sample::select(CONFIG_KEYS.to_vec()), json_value()), 0..8)
    ) {
        let map: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        harness::config(serde_json::Value::Object(map).to_string().as_bytes());
    }

    #[test]
    fn configs_of_any_text(s in ".{0,64}") {
        harness::config(s.as_bytes());
    }
}
