//! Models: SmallCNN and CIFAR pre-activation ResNets, with PyTorch names and layouts.

pub mod layers;
pub mod limits;
mod name;
mod resnet;
mod smallcnn;
pub mod store;

pub use layers::Ctx;
pub use name::ModelName;
pub use resnet::PreActResNet;
pub use smallcnn::SmallCnn;
pub use store::Store;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::rng::Rng;
use crate::tape::Var;
use serde::{Deserialize, Serialize};

/// What a forward returns: logits (N, K) and penultimate features (N, D).
pub struct Output {
    pub logits: Var,
    pub features: Var,
}

/// Which network, how wide, how many classes. `width` 0 means the architecture's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelConfig {
    pub name: ModelName,
    pub width: usize,
    pub classes: usize,
}

impl ModelConfig {
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 || self.width > 1024 {
            return Err(Error::Config(format!(
                "model width {} out of range 1..=1024",
                self.width
            )));
        }
        if self.classes < 2 {
            return Err(Error::Config(format!(
                "need at least 2 classes, got {}",
                self.classes
            )));
        }
        Ok(())
    }
}

impl std::fmt::Display for ModelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (width {}, {} classes)",
            self.name, self.width, self.classes
        )
    }
}

enum Arch {
    SmallCnn(SmallCnn),
    ResNet(PreActResNet),
}

/// A network and its weights.
pub struct Model {
    pub config: ModelConfig,
    pub store: Store,
    arch: Arch,
}

impl Model {
    /// Builds the network with weights drawn from `seed`.
    pub fn new(gpu: &Gpu, config: &ModelConfig, seed: u64) -> Result<Model> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let mut store = Store::new(gpu);
        let (w, k) = (config.width, config.classes);
        let arch = match config.name {
            ModelName::Smallcnn => Arch::SmallCnn(SmallCnn::new(gpu, &mut rng, &mut store, w, k)),
            ModelName::Resnet10 => Arch::ResNet(PreActResNet::new(
                gpu,
                &mut rng,
                &mut store,
                [1, 1, 1, 1],
                w,
                k,
            )),
            ModelName::Resnet18 => Arch::ResNet(PreActResNet::new(
                gpu,
                &mut rng,
                &mut store,
                [2, 2, 2, 2],
                w,
                k,
            )),
        };
        store.finish(gpu);
        Ok(Model {
            config: config.clone(),
            store,
            arch,
        })
    }

    /// Records the forward of a (N, 3, 32, 32) batch.
    pub fn forward(
        &self,
        rec: &mut crate::gpu::Recorder<'_>,
        tape: &mut crate::tape::Tape,
        x: &Var,
        train: bool,
    ) -> Output {
        let mut ctx = Ctx {
            rec,
            tape,
            store: &self.store,
            train,
        };
        match &self.arch {
            Arch::SmallCnn(m) => m.forward(&mut ctx, x),
            Arch::ResNet(m) => m.forward(&mut ctx, x),
        }
    }

    /// Feature dimension of the penultimate layer.
    pub fn feature_dim(&self) -> usize {
        match self.config.name {
            ModelName::Smallcnn => 4 * self.config.width,
            ModelName::Resnet10 | ModelName::Resnet18 => 8 * self.config.width,
        }
    }
}
