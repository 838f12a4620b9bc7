//! The training configuration, shared by the CLI, the JS API and checkpoints (serde, camelCase),
//! and validated before anything runs: a NaN learning rate is an error, not a NaN model.

use crate::error::{Error, Result};
use crate::gpu::Dtype;
use crate::model::{ModelConfig, ModelName};
use crate::ops::loss::LossConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    all(feature = "cli", not(target_arch = "wasm32")),
    derive(clap::ValueEnum)
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Plain cross-entropy.
    Ce,
    /// Class-wise self-knowledge distillation.
    Cskd,
    /// Label smoothing.
    Ls,
    /// Progressive self-knowledge distillation (Kim et al., ICCV 2021): the target mixes the
    /// one-hot label with the model's own prediction from the previous epoch.
    Pskd,
}

/// Input mixing of the anchors (and, for CS-KD, of their partners alike): docs/METHODS.md.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    all(feature = "cli", not(target_arch = "wasm32")),
    derive(clap::ValueEnum)
)]
#[serde(rename_all = "lowercase")]
pub enum Mix {
    #[default]
    None,
    Mixup,
    Cutmix,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    all(feature = "cli", not(target_arch = "wasm32")),
    derive(clap::ValueEnum)
)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// lr ÷ 10 after 50% and after 75% of the epochs (the paper).
    Step,
    /// Cosine annealing to 0 over the epochs.
    Cosine,
}

/// How activations are stored. Arithmetic, gradients, weights and momentum are f32 either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    all(feature = "cli", not(target_arch = "wasm32")),
    derive(clap::ValueEnum)
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything f32: the step is PyTorch's, bit for bit.
    #[default]
    F32,
    /// Images and activations stored as f16 up to global average pooling (half the activation
    /// memory and traffic); needs f16 shaders (`SHADER_F16`).
    Mixed,
}

impl Precision {
    /// The dtype activations are stored in.
    pub fn activations(self) -> Dtype {
        match self {
            Precision::F32 => Dtype::F32,
            Precision::Mixed => Dtype::F16,
        }
    }

    /// The precision that stores activations as `dtype`.
    pub fn of(dtype: Dtype) -> Precision {
        match dtype {
            Dtype::F32 => Precision::F32,
            Dtype::F16 => Precision::Mixed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelName,
    /// 0: the model's default width.
    pub width: usize,
    pub method: Method,
    pub temperature: f32,
    pub lambda: f32,
    pub smoothing: f32,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub batch: usize,
    pub epochs: usize,
    pub schedule: Schedule,
    pub seed: u64,
    pub augment: bool,
    /// Class-balanced subset sizes (0 = everything).
    pub per_class: usize,
    pub test_per_class: usize,
    /// Share of the training pool held out (class-balanced) to fit the temperature of
    /// post-hoc temperature scaling; see `train::calibration` for the rule. 0 = off.
    pub calibration_fraction: f32,
    /// Input mixing (ce and cskd only) and its Beta(α, α) parameter.
    pub mix: Mix,
    pub mix_alpha: f32,
    /// Hinton KD from a teacher checkpoint: weight (0 = off) and temperature.
    pub kd_lambda: f32,
    pub kd_temperature: f32,
    /// PS-KD's final weight α_T of the previous-epoch prediction.
    pub pskd_alpha: f32,
    /// Nesterov momentum (torch.optim.SGD(nesterov=True)): PS-KD's official recipe; off for CE
    /// and CS-KD, as the CS-KD paper trains.
    pub nesterov: bool,
    /// f32, or mixed precision (f16 activations).
    pub precision: Precision,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ModelName::Smallcnn,
            width: 0,
            method: Method::Cskd,
            temperature: 4.0,
            lambda: 1.0,
            smoothing: 0.1,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-4,
            batch: 128,
            epochs: 30,
            schedule: Schedule::Step,
            seed: 0,
            augment: true,
            per_class: 0,
            test_per_class: 0,
            calibration_fraction: 0.1,
            mix: Mix::None,
            mix_alpha: 1.0,
            kd_lambda: 0.0,
            kd_temperature: 4.0,
            pskd_alpha: 0.8,
            nesterov: false,
            precision: Precision::F32,
        }
    }
}

impl TrainConfig {
    /// Parses a JSON object (the JS API's config, a checkpoint's metadata) and validates it:
    /// a misspelt or unknown field is an error naming it, never silently ignored.
    pub fn from_json(text: &str) -> Result<TrainConfig> {
        let config: TrainConfig =
            serde_json::from_str(text).map_err(|e| Error::Config(format!("{e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as a JSON value, through text so f32 fields keep their shortest form
    /// (0.1, not the 0.10000000149011612 `serde_json::to_value` would give).
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::from_str(&serde_json::to_string(self).expect("plain data")).expect("JSON")
    }

    /// The fields where `other` differs from `self`, as "lr: 0.1 → 0.3" (values as written in
    /// JSON: f32 fields read 0.1, not 0.10000000149011612); empty when they are equal.
    pub fn diff(&self, other: &TrainConfig) -> Vec<String> {
        let (a, b) = (self.to_json_value(), other.to_json_value());
        let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
            return Vec::new();
        };
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}: {v} → {}", b[k]))
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        let finite = |name: &str, v: f32, ok: bool, range: &str| {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{name} = {v} is invalid: expected {range}"
                )))
            }
        };
        finite("lr", self.lr, self.lr > 0.0, "a finite number > 0")?;
        finite(
            "momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
            "0 ≤ momentum < 1",
        )?;
        finite(
            "weightDecay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "a finite number ≥ 0",
        )?;
        finite(
            "temperature",
            self.temperature,
            self.temperature > 0.0,
            "a finite number > 0",
        )?;
        finite(
            "lambda",
            self.lambda,
            self.lambda >= 0.0,
            "a finite number ≥ 0",
        )?;
        finite(
            "smoothing",
            self.smoothing,
            (0.0..1.0).contains(&self.smoothing),
            "0 ≤ ε < 1",
        )?;
        finite(
            "calibrationFraction",
            self.calibration_fraction,
            (0.0..=0.5).contains(&self.calibration_fraction),
            "0 ≤ calibrationFraction ≤ 0.5",
        )?;
        finite(
            "mixAlpha",
            self.mix_alpha,
            self.mix_alpha > 0.0,
            "a finite number > 0",
        )?;
        finite(
            "kdLambda",
            self.kd_lambda,
            self.kd_lambda >= 0.0,
            "a finite number ≥ 0",
        )?;
        finite(
            "kdTemperature",
            self.kd_temperature,
            self.kd_temperature > 0.0,
            "a finite number > 0",
        )?;
        finite(
            "pskdAlpha",
            self.pskd_alpha,
            (0.0..=1.0).contains(&self.pskd_alpha),
            "0 ≤ α_T ≤ 1",
        )?;
        if self.mix != Mix::None && !matches!(self.method, Method::Ce | Method::Cskd) {
            // The names users write (serde's), not Rust's.
            let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
            return Err(Error::Config(format!(
                "mix = {} is invalid with method {}: mixing combines with ce and cskd only",
                name(serde_json::json!(self.mix)),
                name(serde_json::json!(self.method))
            )));
        }
        if self.batch == 0 || self.batch > 4096 {
            return Err(Error::Config(format!(
                "batch = {} is invalid: expected 1..=4096",
                self.batch
            )));
        }
        if self.epochs == 0 {
            return Err(Error::Config("epochs must be at least 1".into()));
        }
        self.model_config(10).validate()
    }

    /// The model this configuration trains, for a dataset of `classes` classes.
    pub fn model_config(&self, classes: usize) -> ModelConfig {
        let width = if self.width == 0 {
            self.model.default_width()
        } else {
            self.width
        };
        ModelConfig {
            name: self.model,
            width,
            classes,
        }
    }

    pub fn loss(&self) -> LossConfig {
        match self.method {
            Method::Ce => LossConfig::ce(),
            Method::Cskd => LossConfig::cskd(self.temperature, self.lambda),
            Method::Ls => LossConfig::label_smoothing(self.smoothing),
            Method::Pskd => LossConfig::ce(),
        }
    }

    /// Whether a step needs the soft-target loss (mixing, KD or PS-KD); otherwise the fused
    /// CE / LS / CS-KD kernel runs exactly as before these options existed.
    pub fn uses_soft_loss(&self) -> bool {
        self.mix != Mix::None || self.kd_lambda > 0.0 || self.method == Method::Pskd
    }

    /// PS-KD's α_t during `epoch` (0-based): α_T·(epoch + 1)/epochs, as the official code.
    pub fn pskd_alpha_at(&self, epoch: usize) -> f32 {
        if self.method != Method::Pskd {
            return 0.0;
        }
        self.pskd_alpha * ((epoch + 1) as f32 / self.epochs as f32).min(1.0)
    }

    /// Learning rate during `epoch` (0-based).
    pub fn lr_at(&self, epoch: usize) -> f32 {
        match self.schedule {
            Schedule::Step => {
                let e = epoch as f32 / self.epochs as f32;
                let drops = (e >= 0.5) as i32 + (e >= 0.75) as i32;
                self.lr * 0.1f32.powi(drops)
            }
            Schedule::Cosine => {
                self.lr
                    * 0.5
                    * (1.0 + (std::f32::consts::PI * epoch as f32 / self.epochs as f32).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_schedule_drops_at_half_and_three_quarters() {
        let c = TrainConfig {
            epochs: 8,
            lr: 0.1,
            ..Default::default()
        };
        let lrs: Vec<f32> = (0..8).map(|e| c.lr_at(e)).collect();
        assert_eq!(lrs[3], 0.1);
        assert!((lrs[4] - 0.01).abs() < 1e-7 && (lrs[5] - 0.01).abs() < 1e-7);
        assert!((lrs[6] - 0.001).abs() < 1e-8 && (lrs[7] - 0.001).abs() < 1e-8);
        let c = TrainConfig {
            schedule: Schedule::Cosine,
            ..c
        };
        assert_eq!(c.lr_at(0), 0.1);
        assert!((c.lr_at(4) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn bad_numbers_are_rejected_with_their_name() {
        for (cfg, word) in [
            (
                TrainConfig {
                    lr: f32::NAN,
                    ..Default::default()
                },
                "lr",
            ),
            (
                TrainConfig {
                    temperature: 0.0,
                    ..Default::default()
                },
                "temperature",
            ),
            (
                TrainConfig {
                    batch: 0,
                    ..Default::default()
                },
                "batch",
            ),
        ] {
            let e = cfg.validate().unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
        TrainConfig::default().validate().unwrap();
    }

    #[test]
    fn json_config_rejects_unknown_fields_and_bad_values() {
        let e = TrainConfig::from_json(r#"{"learningRate": 0.01}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("learningRate"), "{e}");
        let e = TrainConfig::from_json(r#"{"lr": -1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lr"), "{e}");
        assert!(TrainConfig::from_json("[1,").is_err());
        let e = TrainConfig::from_json(r#"{"model": "vgg"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("vgg") && e.contains("resnet18"), "{e}");
        let c = TrainConfig::from_json(r#"{"lr": 0.01, "method": "ce"}"#).unwrap();
        assert_eq!((c.lr, c.method), (0.01, Method::Ce));
    }

    #[test]
    fn method_options_parse_validate_and_default_off() {
        let d = TrainConfig::default();
        assert!(
            !d.uses_soft_loss(),
            "the default run keeps the fused kernel"
        );
        let c = TrainConfig::from_json(
            r#"{"method": "cskd", "mix": "cutmix", "mixAlpha": 0.5, "kdLambda": 0.9, "kdTemperature": 3}"#,
        )
        .unwrap();
        assert_eq!((c.mix, c.mix_alpha, c.kd_lambda), (Mix::Cutmix, 0.5, 0.9));
        assert!(c.uses_soft_loss());
        for (json, word) in [
            (r#"{"mixAlpha": 0}"#, "mixAlpha"),
            (r#"{"kdLambda": -1}"#, "kdLambda"),
            (r#"{"kdTemperature": 0}"#, "kdTemperature"),
            (r#"{"pskdAlpha": 1.5}"#, "pskdAlpha"),
            (r#"{"method": "pskd", "mix": "mixup"}"#, "mix"),
            (r#"{"mix": "blend"}"#, "blend"),
        ] {
            let e = TrainConfig::from_json(json).unwrap_err().to_string();
            assert!(e.contains(word), "{json}: {e}");
        }
        let p = TrainConfig {
            method: Method::Pskd,
            epochs: 4,
            ..Default::default()
        };
        for (e, want) in [0.2, 0.4, 0.6, 0.8].into_iter().enumerate() {
            assert!((p.pskd_alpha_at(e) - want).abs() < 1e-6, "epoch {e}");
        }
        assert_eq!(
            TrainConfig::default().pskd_alpha_at(3),
            0.0,
            "off unless pskd"
        );
    }
}
