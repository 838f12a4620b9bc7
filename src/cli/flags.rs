//! The training configuration as command-line flags, written once: `train` and `experiment` both
//! flatten [`ConfigFlags`] (and [`DataFlags`]); a flag left out keeps the base configuration's value
//! (`TrainConfig::default()` or `--preset`'s, or a resumed checkpoint's). Help texts state the defaults.

use crate::data::CifarKind;
use crate::error::Result;
use crate::model::ModelName;
use crate::train::{preset, Precision, Schedule, TrainConfig};
use std::path::PathBuf;

/// Where the data set is, and which one it must be.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DataFlags {
    /// CIFAR archive (.tar.gz), extracted folder or .bin file (default: $CSKD_DATA, else the
    /// download cache, else download; see `cskd data-path`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Expected dataset (checked against the data; decides a .bin that fits both).
    #[arg(long, value_parser = ["cifar10", "cifar100"])]
    pub dataset: Option<String>,
}

impl DataFlags {
    pub fn kind(&self) -> Option<CifarKind> {
        self.dataset.as_deref().map(|d| match d {
            "cifar100" => CifarKind::Cifar100,
            _ => CifarKind::Cifar10,
        })
    }
}

/// Every `TrainConfig` field a run of any method shares (the method, mixing, KD weight and seed
/// are the run's own: `train` adds them, `experiment` takes them from its grid).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConfigFlags {
    /// Start from a named configuration (`cskd presets` lists them); the other flags change it.
    #[arg(long)]
    pub preset: Option<String>,
    /// Training images per class (0 = all) [default 0].
    #[arg(long)]
    pub per_class: Option<usize>,
    /// Test images per class (0 = all) [default 0].
    #[arg(long)]
    pub test_per_class: Option<usize>,
    /// Network [default smallcnn]
    #[arg(long, value_enum)]
    pub model: Option<ModelName>,
    /// Base width (0 = the model's default: 32, 16, 64) [default 0].
    #[arg(long)]
    pub width: Option<usize>,
    /// Softmax temperature T of CS-KD [default 4].
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Weight λ of the class-wise term [default 1].
    #[arg(long)]
    pub lambda: Option<f32>,
    /// Label smoothing ε (method ls) [default 0.1].
    #[arg(long)]
    pub smoothing: Option<f32>,
    /// α of the Beta(α, α) mixing weight [default 1].
    #[arg(long)]
    pub mix_alpha: Option<f32>,
    /// Temperature of the KD term [default 4].
    #[arg(long)]
    pub kd_temperature: Option<f32>,
    /// PS-KD's final weight α_T of last epoch's prediction (method pskd) [default 0.8].
    #[arg(long)]
    pub pskd_alpha: Option<f32>,
    /// Epochs [default 30]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Anchors per step [default 128].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate at the start of the schedule [default 0.1]
    #[arg(long)]
    pub lr: Option<f32>,
    /// SGD momentum [default 0.9]
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Nesterov momentum (PS-KD's official recipe; off for CE and CS-KD, as the CS-KD paper).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay on every parameter [default 1e-4]
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Learning-rate schedule: step (÷10 after 50 % and 75 % of the epochs) or cosine [default step]
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
    /// Share of the training pool held out to fit the temperature scaling (0 = off) [default 0.1].
    #[arg(long)]
    pub calibration_fraction: Option<f32>,
    /// Turn random crop + flip off.
    #[arg(long)]
    pub no_augment: bool,
    /// f32, or mixed: f16 activations with f32 arithmetic, gradients and weights (needs an
    /// adapter with SHADER_F16; `cskd info` lists it) [default f32].
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
}

impl ConfigFlags {
    /// The configuration the flags change: `--preset`'s, else `TrainConfig::default()`.
    pub fn base(&self) -> Result<TrainConfig> {
        match &self.preset {
            Some(key) => Ok(preset::find(key)?.config.clone()),
            None => Ok(TrainConfig::default()),
        }
    }

    /// `base` with every given flag applied.
    pub fn apply(&self, base: &TrainConfig) -> TrainConfig {
        let mut c = base.clone();
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = &self.$field { c.$field = v.clone(); })* };
        }
        set!(
            per_class,
            test_per_class,
            model,
            width,
            temperature,
            lambda,
            smoothing,
            mix_alpha,
            kd_temperature,
            pskd_alpha,
            epochs,
            batch,
            lr,
            momentum,
            weight_decay,
            schedule,
            calibration_fraction,
            precision
        );
        if self.no_augment {
            c.augment = false;
        }
        if self.nesterov {
            c.nesterov = true;
        }
        c
    }
}
