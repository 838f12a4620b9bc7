//! `cskd logits`: eval-mode logits of test images, written as safetensors (`logits` (N, K) F32,
//! `labels` and `indices` (N) I64: positions in the test split of `--data`), so another
//! implementation of the model (the PyTorch twin) can be compared with this one.

use super::data::resolve;
use crate::error::{Error, Result};
use crate::train::checkpoint_file::{read as read_file, write as write_file};
use crate::train::{checkpoint, Trainer};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct LogitsArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// CIFAR archive, extracted folder or .bin file (default: $CSKD_DATA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The first N test images of each class, in file order (0 = the whole test split).
    #[arg(long, default_value_t = 0)]
    test_per_class: usize,
    /// Output .safetensors file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: LogitsArgs) -> Result<()> {
    crate::files::refuse_overwriting_input(&a.out, &[("--checkpoint", &a.checkpoint)])
        .map_err(Error::Config)?;
    let bytes = read_file(&a.checkpoint)?;
    let info = checkpoint::info(&bytes).map_err(|e| e.in_file(&a.checkpoint))?;
    let data = resolve(a.data.as_deref(), None)?;
    let mut config =
        super::eval::trained_config(&info, &data).map_err(|e| e.in_file(&a.checkpoint))?;
    (config.per_class, config.test_per_class) = (1, 0); // the training split is not used
    let gpu = Arc::new(super::open_gpu()?);
    let mut trainer = Trainer::new(gpu, config, data)?;
    trainer
        .load_checkpoint(&bytes, false)
        .map_err(|e| e.in_file(&a.checkpoint))?;
    let indices = first_per_class(&trainer.data.test.labels, a.test_per_class);
    let split = trainer.data.test.select(&indices);
    let logits = pollster::block_on(trainer.twin_logits(&split))?;
    let k = trainer.data.num_classes();
    let labels: Vec<i64> = split.labels.iter().map(|&l| l as i64).collect();
    let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let n = indices.len();
    let (lb, ib, zb) = (
        bytemuck::cast_slice::<i64, u8>(&labels),
        bytemuck::cast_slice::<i64, u8>(&idx),
        bytemuck::cast_slice::<f32, u8>(&logits),
    );
    let ck = |e: safetensors::SafeTensorError| Error::Checkpoint(e.to_string());
    let views = vec![
        (
            "logits",
            TensorView::new(Dtype::F32, vec![n, k], zb).map_err(ck)?,
        ),
        (
            "labels",
            TensorView::new(Dtype::I64, vec![n], lb).map_err(ck)?,
        ),
        (
            "indices",
            TensorView::new(Dtype::I64, vec![n], ib).map_err(ck)?,
        ),
    ];
    let out = safetensors::serialize(views, None::<HashMap<String, String>>).map_err(ck)?;
    write_file(&a.out, &out)?;
    eprintln!("{n} test images → {}", a.out.display());
    Ok(())
}

/// The first `per_class` indices of each label (all when 0), ascending.
fn first_per_class(labels: &[u32], per_class: usize) -> Vec<usize> {
    let mut seen: HashMap<u32, usize> = HashMap::new();
    (0..labels.len())
        .filter(|&i| {
            let c = seen.entry(labels[i]).or_insert(0);
            *c += 1;
            per_class == 0 || *c <= per_class
        })
        .collect()
}
