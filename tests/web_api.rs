//! The JS API in a real browser (wasm-bindgen-test in headless Chromium, WebGPU on SwiftShader):
//! a few steps of a tiny model lower the loss, a checkpoint round-trips, bad input is an Error.
//! Run: CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --no-default-features --test web_api
#![cfg(target_arch = "wasm32")]

use cskd::data::{write_archive, CifarKind, Split};
use cskd::rng::Rng;
use cskd::web::Trainer;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// 2 classes × 4 images, each class a flat colour plus noise: learnable in a few steps.
fn tiny_archive() -> Vec<u8> {
    let mut rng = Rng::new(5);
    let split = |n: usize, rng: &mut Rng| {
        let labels: Vec<u32> = (0..n as u32).map(|i| i % 2).collect();
        let images = labels
            .iter()
            .flat_map(|&l| {
                (0..3072)
                    .map(|i| if (i / 1024) as u32 == l { 200 } else { 40 } + rng.below(30) as u8)
                    .collect::<Vec<u8>>()
            })
            .collect();
        Split {
            images,
            labels,
            coarse: None,
        }
    };
    let (train, test) = (split(8, &mut rng), split(4, &mut rng));
    write_archive(
        CifarKind::Cifar10,
        &train,
        &test,
        &cskd::data::default_class_names(CifarKind::Cifar10),
        None,
    )
}

fn config() -> JsValue {
    let c = serde_json::json!({"model": "smallcnn", "width": 4, "method": "cskd", "batch": 8, "epochs": 3, "augment": false, "lr": 0.05});
    c.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
}

use serde::Serialize;

/// (name, bytes) of every tensor (metadata order is not fixed, the tensors are).
fn tensors(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect();
    v.sort();
    v
}

fn field(v: &JsValue, k: &str) -> f64 {
    js_sys::Reflect::get(v, &k.into())
        .unwrap()
        .as_f64()
        .unwrap()
}

#[wasm_bindgen_test]
async fn steps_lower_the_loss_and_checkpoints_round_trip() {
    let mut t = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into())
        .await
        .map_err(JsValue::from)
        .unwrap();
    let first = field(&t.step().await.map_err(JsValue::from).unwrap(), "ce");
    let mut last = first;
    for _ in 0..2 {
        last = field(&t.step().await.map_err(JsValue::from).unwrap(), "ce");
    }
    assert!(last < first, "loss did not drop: {first} → {last}");
    let before = t.evaluate().await.map_err(JsValue::from).unwrap();
    let bytes = t.save_checkpoint().await.map_err(JsValue::from).unwrap();
    let mut u = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into())
        .await
        .map_err(JsValue::from)
        .unwrap();
    u.load_checkpoint(bytes.clone())
        .await
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(
        tensors(&u.save_checkpoint().await.map_err(JsValue::from).unwrap()),
        tensors(&bytes)
    );
    let after = u.evaluate().await.map_err(JsValue::from).unwrap();
    assert_eq!(field(&before, "nll"), field(&after, "nll"));
}

#[wasm_bindgen_test]
async fn bad_input_is_a_js_error() {
    let err = Trainer::create(config(), b"definitely not cifar".to_vec(), "x.bin".into())
        .await
        .err()
        .expect("bad file must fail");
    let msg = js_sys::Error::from(JsValue::from(err)).message();
    assert!(
        String::from(msg).contains("x.bin"),
        "message should name the file"
    );
    let bad = serde_json::json!({"lr": "fast"})
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap();
    let err = Trainer::create(bad, tiny_archive(), "tiny.tar.gz".into())
        .await
        .err()
        .expect("bad config must fail");
    assert!(
        String::from(js_sys::Error::from(JsValue::from(err)).message()).contains("configuration")
    );
    let t = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into())
        .await
        .map_err(JsValue::from)
        .unwrap();
    assert!(t.test_image(999).is_err());
    assert!(t.predict(vec![0; 7], 2, 2).await.is_err());
}
