//! The one CPU reference lives in the library (`cskd::reference`), shared by tests and `cskd bench`.
pub use cskd::reference::*;
