//! The model names: one vocabulary for the CLI (`--model`), the JS API (`model`) and checkpoints
//! (`"name"` in the model metadata), serialised as "smallcnn", "resnet10", "resnet18".

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    all(feature = "cli", not(target_arch = "wasm32")),
    derive(clap::ValueEnum)
)]
#[serde(rename_all = "lowercase")]
pub enum ModelName {
    /// docs/BENCHMARKS.md's SmallCNN (five 3×3 convs, configurable width).
    #[default]
    Smallcnn,
    /// Pre-activation ResNet with one basic block per stage.
    Resnet10,
    /// The paper's CIFAR pre-activation ResNet-18.
    Resnet18,
}

impl ModelName {
    pub const ALL: [ModelName; 3] = [
        ModelName::Smallcnn,
        ModelName::Resnet10,
        ModelName::Resnet18,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelName::Smallcnn => "smallcnn",
            ModelName::Resnet10 => "resnet10",
            ModelName::Resnet18 => "resnet18",
        }
    }

    /// Base width when the configuration says 0.
    pub fn default_width(self) -> usize {
        match self {
            ModelName::Smallcnn => 32,
            ModelName::Resnet10 => 16,
            ModelName::Resnet18 => 64,
        }
    }
}

impl std::fmt::Display for ModelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ModelName {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelName::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                crate::error::Error::Config(format!(
                    "unknown model {s:?}: expected one of smallcnn, resnet10, resnet18"
                ))
            })
    }
}
