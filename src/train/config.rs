//! The training configuration, shared by the CLI, the JS API and checkpoints (serde, camelCase),
//! and validated before anything runs: a NaN learning rate is an error, not a NaN model.

use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::ops::loss::LossConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Plain cross-entropy.
    Ce,
    /// Class-wise self-knowledge distillation.
    Cskd,
    /// Label smoothing.
    Ls,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// lr ÷ 10 after 50% and after 75% of the epochs (the paper).
    Step,
    /// Cosine annealing to 0 over the epochs.
    Cosine,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: String,
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
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: "smallcnn".into(),
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
        }
    }
}

impl TrainConfig {
    /// Parses a JSON object (the JS API's config, a checkpoint's metadata) and validates it:
    /// a misspelt or unknown field is an error naming it, never silently ignored.
    pub fn from_json(text: &str) -> Result<TrainConfig> {
        let config: TrainConfig = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("{e}")))?;
        config.validate()?;
        Ok(config)
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
            ModelConfig::default_width(&self.model)
        } else {
            self.width
        };
        ModelConfig {
            name: self.model.clone(),
            width,
            classes,
        }
    }

    pub fn loss(&self) -> LossConfig {
        match self.method {
            Method::Ce => LossConfig::ce(),
            Method::Cskd => LossConfig::cskd(self.temperature, self.lambda),
            Method::Ls => LossConfig::label_smoothing(self.smoothing),
        }
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
            (
                TrainConfig {
                    model: "vgg".into(),
                    ..Default::default()
                },
                "unknown model",
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
        let e = TrainConfig::from_json(r#"{"lr": -1}"#).unwrap_err().to_string();
        assert!(e.contains("lr"), "{e}");
        assert!(TrainConfig::from_json("[1,").is_err());
        let c = TrainConfig::from_json(r#"{"lr": 0.01, "method": "ce"}"#).unwrap();
        assert_eq!((c.lr, c.method), (0.01, Method::Ce));
    }
}
