//! The JS API in a real browser (wasm-bindgen-test in headless Chromium, WebGPU on SwiftShader):
//! a few steps of a tiny model lower the loss, a checkpoint round-trips, bad input is an Error
//! (and the trainer keeps working), a resume is bit-exact, a lost device is replaced, pipelined
//! `steps(n)` equals `n` single steps, and every kernel of the registry matches its CPU reference
//! in every kernel family.
//! Run: WASM_BINDGEN_TEST_TIMEOUT=600 CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --no-default-features --test web_api
//! (the runner's default limit, 20 s for the whole run, is shorter than the kernels of every family take).
#![cfg(target_arch = "wasm32")]

use cskd::data::{write_archive, CifarKind, Split};
use cskd::rng::Rng;
use cskd::web::Trainer;
use wasm_bindgen::{JsCast, JsValue};
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
    js(
        serde_json::json!({"model": "smallcnn", "width": 4, "method": "cskd", "batch": 8, "epochs": 3, "augment": false, "lr": 0.05}),
    )
}

fn js(v: serde_json::Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
}

/// The config with one field replaced by a JS value (NaN and ±Infinity have no JSON form).
fn config_with(key: &str, value: JsValue) -> JsValue {
    let c = config();
    js_sys::Reflect::set(&c, &key.into(), &value).unwrap();
    c
}

fn message(err: wasm_bindgen::JsError) -> String {
    js_sys::Error::from(JsValue::from(err)).message().into()
}

/// Batch 4 of the 8 training images: two steps per epoch, so a save can fall mid-epoch.
fn config_b4(lr: f64) -> JsValue {
    js(
        serde_json::json!({"model": "smallcnn", "width": 4, "method": "cskd", "batch": 4, "epochs": 3, "augment": true, "lr": lr, "seed": 3}),
    )
}

async fn trainer() -> Trainer {
    Trainer::create(config_b4(0.05), tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .map_err(JsValue::from)
        .unwrap()
}

/// `n` steps' (loss, ce, kl), as bits so that equality is exact.
async fn losses(t: &mut Trainer, n: usize) -> Vec<[u64; 3]> {
    let mut out = Vec::new();
    for _ in 0..n {
        let s = t.step().await.map_err(JsValue::from).unwrap();
        out.push(["loss", "ce", "kl"].map(|k| field(&s, k).to_bits()));
    }
    out
}

/// Lets the browser run its queued tasks (the `GPUDevice.lost` promise resolves in one).
async fn yield_to_browser() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout: js_sys::Function = js_sys::Reflect::get(&global, &"setTimeout".into())
            .unwrap()
            .into();
        set_timeout.call2(&global, &resolve, &20.into()).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

use serde::Serialize;

thread_local! {
    static BUSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// wasm-bindgen-test runs the async tests concurrently, and they share one GPU device (which one
/// test destroys on purpose): each test holds this guard so that they run one at a time.
struct Serial;
impl Drop for Serial {
    fn drop(&mut self) {
        BUSY.with(|b| b.set(false));
    }
}
async fn serial() -> Serial {
    while BUSY.with(|b| b.replace(true)) {
        yield_to_browser().await;
    }
    Serial
}

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
    let _serial = serial().await;
    let mut t = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into(), None)
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
    let mut u = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into(), None)
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
    let _serial = serial().await;
    let err = Trainer::create(
        config(),
        b"definitely not cifar".to_vec(),
        "x.bin".into(),
        None,
    )
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
    let err = Trainer::create(bad, tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .err()
        .expect("bad config must fail");
    assert!(
        String::from(js_sys::Error::from(JsValue::from(err)).message()).contains("configuration")
    );
    let mut t = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .map_err(JsValue::from)
        .unwrap();
    assert!(t.test_image(999).is_err());
    assert!(t.predict(vec![0; 7], 2, 2).await.is_err());
}

#[wasm_bindgen_test]
async fn every_bad_input_rejects_and_the_trainer_keeps_working() {
    let _serial = serial().await;
    // Unknown or misspelt fields are named, never silently ignored.
    for (cfg, needle) in [
        (
            js(serde_json::json!({"learningRate": 0.01})),
            "learningRate",
        ),
        (
            js(serde_json::json!({"lr": 0.05, "batchSize": 8})),
            "batchSize",
        ),
        (config_with("lr", JsValue::from_f64(f64::NAN)), "lr"),
        (
            config_with("temperature", JsValue::from_f64(f64::INFINITY)),
            "temperature",
        ),
        (config_with("lr", 0.into()), "lr"),
        (config_with("lr", (-1).into()), "lr"),
        (config_with("batch", 0.into()), "batch"),
        (config_with("batch", 1e30.into()), "configuration"),
        (config_with("epochs", (-3).into()), "-3"),
        (config_with("method", "distill".into()), "distill"),
        (config_with("schedule", "linear".into()), "linear"),
        (JsValue::from(7), "configuration"),
    ] {
        let what = js_sys::JSON::stringify(&cfg)
            .map(String::from)
            .unwrap_or_default();
        let err = Trainer::create(cfg, tiny_archive(), "tiny.tar.gz".into(), None)
            .await
            .err()
            .unwrap_or_else(|| panic!("config {what} must be rejected"));
        let m = message(err);
        assert!(
            m.contains(needle),
            "{what}: message {m:?} should name {needle:?}"
        );
    }

    let mut t = trainer().await;
    losses(&mut t, 1).await;
    let good = t.save_checkpoint().await.map_err(JsValue::from).unwrap();
    let before = t.save_checkpoint().await.map_err(JsValue::from).unwrap();
    for bad in [b"garbage".to_vec(), vec![], good[..good.len() / 2].to_vec()] {
        assert!(t.load_checkpoint(bad.clone()).await.is_err());
        assert!(t.resume(bad).await.is_err());
    }
    assert!(t.test_image(999).is_err());
    assert!(t.predict(vec![0; 7], 2, 2).await.is_err());
    assert!(t.predict(vec![0; 16], 0, 4).await.is_err());
    // A checkpoint of another configuration does not resume; the error names what differs.
    let mut u = Trainer::create(config_b4(0.01), tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .map_err(JsValue::from)
        .unwrap();
    let m = message(u.resume(good.clone()).await.err().expect("other config"));
    assert!(m.contains("lr"), "{m}");
    // Nothing above changed the trainer, and it still trains.
    assert_eq!(
        tensors(&t.save_checkpoint().await.map_err(JsValue::from).unwrap()),
        tensors(&before)
    );
    assert_eq!((t.epoch(), t.step_in_epoch()), (0, 1));
    losses(&mut t, 1).await;
    assert_eq!((t.epoch(), t.step_in_epoch()), (1, 0));
}

#[wasm_bindgen_test]
async fn resume_is_bit_exact_mid_epoch() {
    let _serial = serial().await;
    let mut a = trainer().await;
    let reference = losses(&mut a, 4).await;
    let mut b = trainer().await;
    let first = losses(&mut b, 1).await;
    let saved = b.save_checkpoint().await.map_err(JsValue::from).unwrap();
    drop(b);
    let mut c = trainer().await;
    c.resume(saved).await.map_err(JsValue::from).unwrap();
    assert_eq!((c.epoch(), c.step_in_epoch()), (0, 1));
    let rest = losses(&mut c, 3).await;
    assert_eq!([first, rest].concat(), reference);
}

#[wasm_bindgen_test]
async fn a_lost_device_is_replaced_and_the_run_resumes() {
    let _serial = serial().await;
    let mut a = trainer().await;
    let reference = losses(&mut a, 2).await;
    let mut t = trainer().await;
    let first = losses(&mut t, 1).await;
    let saved = t.save_checkpoint().await.map_err(JsValue::from).unwrap();
    assert!(!cskd::web::gpu_lost());
    assert!(cskd::web::destroy_device_for_testing());
    let err = t
        .step()
        .await
        .err()
        .expect("a step on a destroyed device fails");
    let m = message(err);
    for _ in 0..50 {
        if cskd::web::gpu_lost() {
            break;
        }
        yield_to_browser().await;
    }
    assert!(
        cskd::web::gpu_lost(),
        "GPUDevice.lost resolved (step error: {m})"
    );
    drop(t);
    drop(a);
    // The next trainer gets a new device and continues from the save.
    let mut u = trainer().await;
    assert!(!cskd::web::gpu_lost());
    u.resume(saved).await.map_err(JsValue::from).unwrap();
    assert_eq!([first, losses(&mut u, 1).await].concat(), reference);
}

fn get(v: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(v, &k.into()).unwrap()
}

fn f32s(v: &JsValue) -> Vec<f32> {
    js_sys::Float32Array::from(v.clone()).to_vec()
}

/// `evaluateAll` is the three separate calls in one pass: the same metrics, features and
/// probabilities, and (like `evaluate`) it fills in the finished epoch's test metrics.
#[wasm_bindgen_test]
async fn evaluate_all_is_one_pass_of_the_three_calls() {
    let _serial = serial().await;
    let mut t = trainer().await;
    while t.epoch() < 1 {
        losses(&mut t, 1).await;
    }
    let all = t.evaluate_all().await.map_err(JsValue::from).unwrap();
    let (metrics, emb, preds) = (
        get(&all, "metrics"),
        get(&all, "embeddings"),
        get(&all, "predictions"),
    );
    let n = t.num_test();
    assert_eq!(field(&metrics, "count") as usize, n);
    let dim = field(&emb, "dim") as usize;
    let (features, probs) = (f32s(&get(&emb, "data")), f32s(&get(&preds, "probs")));
    assert!(dim > 0);
    assert_eq!(features.len(), n * dim);
    assert_eq!(field(&preds, "classes") as usize, 10);
    assert_eq!(probs.len(), n * 10);
    let labels = js_sys::Uint32Array::from(get(&preds, "labels")).to_vec();
    assert_eq!(labels, vec![0, 1, 0, 1]);
    for row in probs.chunks(10) {
        assert!(
            (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
            "softmax rows sum to 1"
        );
    }
    let alone = t.evaluate().await.map_err(JsValue::from).unwrap();
    for k in ["nll", "ece", "top1Error"] {
        assert_eq!(
            field(&metrics, k).to_bits(),
            field(&alone, k).to_bits(),
            "{k}"
        );
    }
    let e = t.embeddings().await.map_err(JsValue::from).unwrap();
    assert_eq!(f32s(&get(&e, "data")), features);
    let p = t.test_predictions().await.map_err(JsValue::from).unwrap();
    assert_eq!(f32s(&get(&p, "probs")), probs);
    let history = js_sys::Array::from(&t.history().map_err(JsValue::from).unwrap());
    assert_eq!(history.length(), 1);
    let test = get(&history.get(0), "test");
    assert_eq!(
        field(&test, "nll").to_bits(),
        field(&metrics, "nll").to_bits()
    );
}

/// KD: a teacher checkpoint given to `create` is distilled from (finite losses, and the KD term
/// changes the loss); bad teacher bytes are an Error.
#[wasm_bindgen_test]
async fn create_takes_a_teacher_for_kd() {
    let _serial = serial().await;
    let mut teacher = trainer().await;
    losses(&mut teacher, 2).await;
    let bytes = teacher
        .save_checkpoint()
        .await
        .map_err(JsValue::from)
        .unwrap();
    let kd = |lambda: f64| {
        js(
            serde_json::json!({"model": "smallcnn", "width": 4, "method": "ce", "batch": 4, "epochs": 1,
            "augment": false, "seed": 3, "kdLambda": lambda}),
        )
    };
    let mut plain = Trainer::create(kd(0.0), tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .map_err(JsValue::from)
        .unwrap();
    let mut student = Trainer::create(kd(0.5), tiny_archive(), "tiny.tar.gz".into(), Some(bytes))
        .await
        .map_err(JsValue::from)
        .unwrap();
    let (a, b) = (losses(&mut plain, 1).await, losses(&mut student, 1).await);
    assert!(f64::from_bits(b[0][0]).is_finite());
    assert_ne!(a[0][0], b[0][0], "the KD term changes the loss");
    let err = Trainer::create(
        kd(0.5),
        tiny_archive(),
        "tiny.tar.gz".into(),
        Some(b"nope".to_vec()),
    )
    .await
    .err()
    .expect("bad teacher bytes must fail");
    assert!(!message(err).is_empty());
}

#[wasm_bindgen_test]
async fn the_profiler_reads_webgpu_timestamps_and_profile_step_checks_its_options() {
    let _serial = serial().await;
    // A whole W1 step takes SwiftShader longer than a test may run: profile two small ops.
    let gpu = cskd::gpu::Gpu::new().await.unwrap();
    let pool = cskd::gpu::BufferPool::new();
    let mut rec = cskd::gpu::Recorder::profiled(&gpu, &pool).unwrap();
    let x = cskd::gpu::Tensor::from_slice(&gpu.device, &gpu.queue, &[1, 2, 5, 5], &[0.5f32; 50]);
    let w = cskd::gpu::Tensor::from_slice(&gpu.device, &gpu.queue, &[3, 2, 3, 3], &[0.1f32; 54]);
    let y = cskd::ops::conv2d::forward(&mut rec, &x, &w, 1, 1);
    let _ = cskd::ops::pool::max_forward(&mut rec, &y);
    let (method, times) = cskd::gpu::profile::finish(&mut rec).await.unwrap();
    assert_eq!(
        method,
        cskd::gpu::profile::TimingMethod::Timestamps,
        "SwiftShader has timestamp-query"
    );
    assert_eq!(times.len(), rec.dispatches());
    assert!(times.iter().all(|t| t.family.is_some() && t.ms >= 0.0));
    assert_eq!(
        times.last().unwrap().family,
        Some(cskd::gpu::profile::OpFamily::Pool)
    );
    for bad in [
        serde_json::json!({"anchors": 0}),
        serde_json::json!({"steps": 3}),
    ] {
        let err = cskd::web::profile_step(js(bad)).await.unwrap_err();
        let m = message(err);
        assert!(m.contains("profileStep"), "{m}");
    }
}

#[wasm_bindgen_test]
fn presets_are_the_crates_list_with_every_field_as_written() {
    let list: js_sys::Array = cskd::web::presets()
        .map_err(message)
        .unwrap()
        .unchecked_into();
    let owned = cskd::train::preset::all().unwrap();
    assert_eq!(list.length() as usize, owned.len());
    for (p, owned) in list.iter().zip(owned) {
        assert_eq!(get(&p, "key").as_string().unwrap(), owned.key);
        let config = get(&p, "config");
        // f32 fields as written in presets.json (0.0005), not as widened to f64 (0.0005000000237…).
        assert_eq!(field(&config, "weightDecay"), 0.0005, "{}", owned.key);
        let text: String = js_sys::JSON::stringify(&config).unwrap().into();
        assert_eq!(
            cskd::train::TrainConfig::from_json(&text).unwrap(),
            owned.config
        );
        let runs: js_sys::Array = get(&p, "runs").unchecked_into();
        assert_eq!(runs.length() as usize, owned.methods.len());
    }
}

/// The JS `benchKernels` of one family, kernel by kernel (as the bench page runs it): every kernel
/// of the registry checked against its CPU reference at the small odd and aligned shapes in this
/// browser, then timed once at the odd one. Every failure is collected, then reported together.
async fn every_kernel_passes(family: &str) {
    let _serial = serial().await;
    let start = js_sys::Date::now();
    let (mut failed, mut skipped) = (Vec::new(), Vec::new());
    for name in cskd::web::kernel_names() {
        let t = js_sys::Date::now();
        let options = serde_json::json!({"family": family, "kernels": [name], "reps": 1});
        let result = match cskd::web::bench_kernels(js(options)).await {
            Ok(r) => r,
            Err(e) => {
                failed.push(message(e));
                cskd::web::reset_gpu(); // a lost device: the next kernel opens a new one
                continue;
            }
        };
        console_log!("{family} {name}: {:.1} s", (js_sys::Date::now() - t) / 1e3);
        assert_eq!(get(&result, "family").as_string().unwrap(), family);
        let rows: js_sys::Array = get(&result, "kernels").unchecked_into();
        let skips: js_sys::Array = get(&result, "skipped").unchecked_into();
        if let Some(skip) = skips.iter().next() {
            assert_eq!(rows.length(), 0);
            assert!(get(&skip, "reason")
                .as_string()
                .unwrap()
                .contains("SwiftShader"));
            skipped.push(get(&skip, "kernel").as_string().unwrap());
            continue;
        }
        assert_eq!(rows.length(), 1);
        let r = rows.get(0);
        assert_eq!(get(&r, "kernel").as_string().unwrap(), name);
        let what = format!("{family} {name}");
        let (err, tol) = (field(&r, "maxErr"), field(&r, "tolerance"));
        assert!(err <= tol, "{what}: error {err} > tolerance {tol}");
        assert!(get(&r, "checkedShape").as_string().unwrap().contains("; "));
        // SwiftShader has timestamps: the profiler saw the dispatches and counted their bytes.
        let dispatches: js_sys::Array = get(&r, "dispatches").unchecked_into();
        assert!(dispatches.length() > 0, "{what}: no dispatch recorded");
        let (flops, bytes) = (field(&r, "flops"), field(&r, "bytes"));
        assert!(
            bytes > 0.0 && flops >= 0.0,
            "{what}: {flops} FLOP, {bytes} B"
        );
        assert_eq!(field(&r, "intensity"), flops / bytes, "{what}");
    }
    let seconds = (js_sys::Date::now() - start) / 1e3;
    console_log!("benchKernels {family}: every kernel checked and timed in {seconds:.1} s, {skipped:?} skipped");
    assert!(failed.is_empty(), "{family} family:\n{}", failed.join("\n"));
    // Only the tiled family's register-tiled 3×3 convolutions, which SwiftShader cannot compile
    // (this browser's software adapter; a real GPU runs them).
    let info = cskd::web::adapter_info().await.map_err(message).unwrap();
    let software = get(&info, "deviceType").as_string().unwrap() == "Cpu";
    let cannot: &[&str] = match (family, software) {
        ("tiled", true) => &[
            "conv3x3s1.forward",
            "conv3x3s1.input_grad",
            "conv3x3s1.weight_grad",
        ],
        _ => &[],
    };
    assert_eq!(skipped, cannot, "{family}: skipped on SwiftShader");
}

#[wasm_bindgen_test]
async fn every_kernel_passes_its_cpu_reference_tiled() {
    every_kernel_passes("tiled").await;
}

#[wasm_bindgen_test]
async fn every_kernel_passes_its_cpu_reference_compact() {
    every_kernel_passes("compact").await;
}

#[wasm_bindgen_test]
async fn every_kernel_passes_its_cpu_reference_shared() {
    every_kernel_passes("shared").await;
}

#[wasm_bindgen_test]
async fn bench_kernels_names_each_bad_option() {
    let _serial = serial().await;
    for (options, needle) in [
        (
            serde_json::json!({"family": "gpu"}),
            "unknown kernel family",
        ),
        (
            serde_json::json!({"kernels": ["relu"]}),
            "no kernel \"relu\"",
        ),
        (serde_json::json!({"kernels": []}), "kernels"),
        (serde_json::json!({"kernels": "relu.forward"}), "kernels"),
        (serde_json::json!({"reps": 0}), "reps"),
        (serde_json::json!({"reps": 2.5}), "reps"),
        (serde_json::json!({"batch": -4}), "batch"),
        (serde_json::json!({"size": "huge"}), "size"),
        (serde_json::json!({"famly": "tiled"}), "famly"),
        (serde_json::json!(7), "must be an object"),
    ] {
        let m = message(
            cskd::web::bench_kernels(js(options.clone()))
                .await
                .unwrap_err(),
        );
        assert!(
            m.contains("benchKernels") && m.contains(needle),
            "{options}: {m}"
        );
    }
    // One kernel by its exact name (not every name containing it: sgd.nesterov stays out).
    let one = cskd::web::bench_kernels(js(serde_json::json!({"kernels": ["sgd"], "reps": 1})))
        .await
        .map_err(message)
        .unwrap();
    let rows: js_sys::Array = get(&one, "kernels").unchecked_into();
    assert_eq!(rows.length(), 1);
    assert_eq!(get(&rows.get(0), "kernel").as_string().unwrap(), "sgd");
}

/// Batch 2 of the 8 training images: four steps per epoch, so steps can be pipelined.
async fn trainer_b2() -> Trainer {
    let config = serde_json::json!({"model": "smallcnn", "width": 4, "method": "cskd", "batch": 2,
        "epochs": 2, "augment": true, "lr": 0.05, "seed": 3});
    Trainer::create(js(config), tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .map_err(JsValue::from)
        .unwrap()
}

/// Every field of each report, floats as bits (imagesPerSec is a wall-clock rate: left out).
fn reports(list: &[JsValue]) -> Vec<[u64; 7]> {
    list.iter()
        .map(|s| {
            let done = get(s, "epochDone").as_bool().unwrap() as u64;
            let f = |k| field(s, k);
            [
                f("epoch") as u64,
                f("step") as u64,
                f("loss").to_bits(),
                f("ce").to_bits(),
                f("kl").to_bits(),
                f("lr").to_bits(),
                done,
            ]
        })
        .collect()
}

async fn piped(t: &mut Trainer, n: f64) -> Vec<JsValue> {
    let list = t.steps(n.into()).await.map_err(message).unwrap();
    js_sys::Array::from(&list).iter().collect()
}

async fn singly(t: &mut Trainer, n: usize) -> Vec<JsValue> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(t.step().await.map_err(message).unwrap());
    }
    out
}

/// `steps(n)` is `n` calls of `step()`, pipelined: the same reports and weights bit for bit; it
/// stops after the step that ends an epoch and leaves nothing in flight (a checkpoint right
/// after it holds exactly the steps it reported).
#[wasm_bindgen_test]
async fn steps_are_single_steps_pipelined_bit_for_bit() {
    let _serial = serial().await;
    let (mut a, mut b) = (trainer_b2().await, trainer_b2().await);
    assert_eq!(a.steps_per_epoch(), 4);
    assert_eq!(
        reports(&piped(&mut a, 3.0).await),
        reports(&singly(&mut b, 3).await)
    );
    assert_eq!((a.epoch(), a.step_in_epoch()), (0, 3));
    let same = |a: Vec<u8>, b: Vec<u8>| assert_eq!(tensors(&a), tensors(&b));
    same(
        a.save_checkpoint().await.map_err(message).unwrap(),
        b.save_checkpoint().await.map_err(message).unwrap(),
    );
    // Five asked, one left in the epoch: one report, which ends it.
    let end = piped(&mut a, 5.0).await;
    assert_eq!(end.len(), 1);
    assert_eq!(reports(&end), reports(&singly(&mut b, 1).await));
    assert!(get(&end[0], "epochDone").as_bool().unwrap());
    assert_eq!((a.epoch(), a.step_in_epoch()), (1, 0));
    // Another epoch, across an evaluation and a checkpoint.
    a.evaluate().await.map_err(message).unwrap();
    b.evaluate().await.map_err(message).unwrap();
    assert_eq!(
        reports(&piped(&mut a, 2.0).await),
        reports(&singly(&mut b, 2).await)
    );
    same(
        a.save_checkpoint().await.map_err(message).unwrap(),
        b.save_checkpoint().await.map_err(message).unwrap(),
    );
    assert_eq!(
        reports(&piped(&mut a, 4.0).await),
        reports(&singly(&mut b, 2).await)
    );
    let m = message(a.steps(1.into()).await.unwrap_err());
    assert!(m.contains("training is finished"), "{m}");
}

#[wasm_bindgen_test]
async fn steps_rejects_a_bad_count_and_changes_nothing() {
    let _serial = serial().await;
    let mut t = trainer_b2().await;
    piped(&mut t, 1.0).await;
    let before = t.save_checkpoint().await.map_err(message).unwrap();
    for n in [
        JsValue::from(0),
        JsValue::from(-2),
        JsValue::from(1e9),
        JsValue::from(2.5),
        JsValue::from_f64(f64::NAN),
        JsValue::from_f64(f64::INFINITY),
        JsValue::from("3"),
        JsValue::UNDEFINED,
        JsValue::NULL,
    ] {
        let what = format!("{n:?}");
        let m = message(t.steps(n).await.expect_err(&what));
        assert!(
            m.contains("steps(n): n must be an integer from 1 to"),
            "{what}: {m}"
        );
    }
    assert_eq!((t.epoch(), t.step_in_epoch()), (0, 1));
    assert_eq!(
        tensors(&t.save_checkpoint().await.map_err(message).unwrap()),
        tensors(&before)
    );
    assert_eq!(piped(&mut t, 2.0).await.len(), 2);
}

/// Mixed precision needs f16 shaders: where the adapter offers them the trainer steps with f16
/// activations to finite losses; where it has none (Chromium's SwiftShader today) creating one is
/// a clear JS error naming what is missing, and an f32 trainer still works after it.
#[wasm_bindgen_test]
async fn mixed_precision_trains_or_says_why_it_cannot() {
    let _serial = serial().await;
    let info = cskd::web::adapter_info()
        .await
        .map_err(JsValue::from)
        .unwrap();
    let features = js_sys::Reflect::get(&info, &"features".into()).unwrap();
    let has_f16 = js_sys::Array::from(&features)
        .iter()
        .any(|f| f.as_string().as_deref() == Some("SHADER_F16"));
    let mixed = config_with("precision", "mixed".into());
    match Trainer::create(mixed, tiny_archive(), "tiny.tar.gz".into(), None).await {
        Ok(mut t) => {
            assert!(has_f16, "a mixed-precision trainer without SHADER_F16");
            let steps = losses(&mut t, 2).await;
            assert!(
                steps.iter().all(|s| f64::from_bits(s[0]).is_finite()),
                "{steps:?}"
            );
        }
        Err(e) => {
            let msg = message(e);
            assert!(!has_f16, "the adapter has SHADER_F16: {msg}");
            assert!(msg.contains("SHADER_F16") && msg.contains("f32"), "{msg}");
        }
    }
    let bad = config_with("precision", "half".into());
    let msg = message(
        Trainer::create(bad, tiny_archive(), "tiny.tar.gz".into(), None)
            .await
            .err()
            .expect("an unknown precision must fail"),
    );
    assert!(msg.contains("half"), "{msg}");
    let mut t = Trainer::create(config(), tiny_archive(), "tiny.tar.gz".into(), None)
        .await
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(losses(&mut t, 1).await.len(), 1);
}
