//! Whether a model and batch fit the adapter, checked before anything is allocated: a buffer over
//! `max_storage_buffer_binding_size` would otherwise surface as a raw validation error or a lost
//! device. The message names the limit and what to lower.

use super::{ModelConfig, ModelName};
use crate::error::{Error, Result};

/// Floats per image of the largest activation: every model here keeps `width` channels at full
/// 32×32 resolution in its first stage, and later stages trade channels for resolution.
pub fn largest_activation_per_image(cfg: &ModelConfig) -> usize {
    cfg.width * 32 * 32
}

/// Floats of the largest weight (and of the weight-gradient partial sums, which are about as big):
/// SmallCNN's last conv (4w × 2w × 3 × 3), the ResNets' last stage (8w × 8w × 3 × 3).
pub fn largest_weight(cfg: &ModelConfig) -> usize {
    let w = cfg.width;
    match cfg.name {
        ModelName::Smallcnn => (4 * w * 2 * w * 9).max(4 * w * cfg.classes),
        ModelName::Resnet10 | ModelName::Resnet18 => (8 * w * 8 * w * 9).max(8 * w * cfg.classes),
    }
}

/// The most images per batch whose activations fit in one binding of `max_binding` bytes.
pub fn max_images(cfg: &ModelConfig, max_binding: u64) -> usize {
    (max_binding / (4 * largest_activation_per_image(cfg) as u64)) as usize
}

/// Checks that `batch` images (the largest batch the run will use) fit the adapter.
pub fn check_fits(cfg: &ModelConfig, batch: usize, max_binding: u64) -> Result<()> {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let weight = 4 * largest_weight(cfg) as u64;
    if weight > max_binding {
        return Err(Error::Config(format!(
            "{} of width {} has a {:.0} MiB weight tensor, more than this adapter's max_storage_buffer_binding_size ({:.0} MiB): lower the width",
            cfg.name,
            cfg.width,
            mib(weight),
            mib(max_binding)
        )));
    }
    let per_image = 4 * largest_activation_per_image(cfg) as u64;
    let need = per_image * batch as u64;
    if need > max_binding {
        let fit = max_images(cfg, max_binding);
        let width_fit = (max_binding / (4 * 32 * 32 * batch as u64)).max(1);
        return Err(Error::Config(format!(
            "{} of width {} at batch {batch} needs a {:.0} MiB activation buffer, more than this adapter's max_storage_buffer_binding_size ({:.0} MiB): lower the batch to at most {fit} or the width to at most {width_fit}",
            cfg.name,
            cfg.width,
            mib(need),
            mib(max_binding)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(width: usize) -> ModelConfig {
        ModelConfig {
            name: ModelName::Smallcnn,
            width,
            classes: 10,
        }
    }

    #[test]
    fn too_wide_or_too_big_a_batch_names_the_limit_and_the_fix() {
        let limit = 128 << 20;
        check_fits(&cfg(32), 128, limit).unwrap();
        let e = check_fits(&cfg(256), 250, limit).unwrap_err().to_string();
        assert!(e.contains("max_storage_buffer_binding_size"), "{e}");
        assert!(e.contains("lower the batch to at most 128"), "{e}");
        assert!(e.contains("width to at most 131"), "{e}");
        check_fits(&cfg(256), 128, limit).unwrap();
        let e = check_fits(&cfg(1024), 1, limit).unwrap_err().to_string();
        assert!(
            e.contains("weight tensor") && e.contains("lower the width"),
            "{e}"
        );
    }
}
