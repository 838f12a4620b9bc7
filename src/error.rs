//! The crate's error type: every failure a user can cause or meet ends here, with a message
//! that says what went wrong (no panics across the wasm boundary).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    #[error("could not open the GPU device: {0}")]
    Device(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("shape mismatch: {0}")]
    Shape(String),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("training diverged: {0}")]
    Diverged(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Names the file a checkpoint error is about ("runs/a/last.safetensors: tensor … is missing").
    pub fn in_file(self, path: &std::path::Path) -> Error {
        match self {
            Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
            e => e,
        }
    }
}
