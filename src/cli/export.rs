//! `cskd export`: an inference-only checkpoint (weights, running statistics, model and class
//! names; no momentum, configuration, training state or history) for other runtimes. ONNX comes
//! from the PyTorch twin (`python/`), which loads these files.

use crate::error::{Error, Result};
use crate::train::{checkpoint, checkpoint_file};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A cskd checkpoint (last.safetensors, best.safetensors, …).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Where to write the inference-only safetensors file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: ExportArgs) -> Result<()> {
    // The training checkpoint is kept, whatever path spells it.
    crate::files::refuse_overwriting_input(&a.out, &[("--checkpoint", &a.checkpoint)])
        .map_err(Error::Config)?;
    let bytes = checkpoint_file::read(&a.checkpoint)?;
    let info = checkpoint::info(&bytes).map_err(|e| e.in_file(&a.checkpoint))?;
    let out = checkpoint::inference_only(&bytes).map_err(|e| e.in_file(&a.checkpoint))?;
    checkpoint_file::write(&a.out, &out)?;
    println!(
        "{} (width {}, {} classes): {} → {} ({} of {} bytes)",
        info.model.name,
        info.model.width,
        info.model.classes,
        a.checkpoint.display(),
        a.out.display(),
        out.len(),
        bytes.len()
    );
    Ok(())
}
