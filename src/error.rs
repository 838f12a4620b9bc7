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
    #[error("download: {0}")]
    Download(String),
    #[error("training diverged: {0}")]
    Diverged(String),
    /// What was being done (e.g. which run of a grid), then the error itself, which keeps its kind.
    #[error("{context}: {source}")]
    Context { context: String, source: Box<Error> },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Says what was being done when this error happened, keeping its own kind and words.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// Names the file an error is about ("runs/a/last.safetensors: tensor … is missing"); I/O
    /// errors name theirs already.
    pub fn in_file(self, path: &std::path::Path) -> Error {
        match self {
            Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
            e @ Error::Io { .. } => e,
            e => e.context(path.display().to_string()),
        }
    }
}
