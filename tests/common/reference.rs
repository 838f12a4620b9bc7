//! The one CPU reference lives in the library (`cskd::reference`), shared by tests and `cskd bench`.
#[allow(unused_imports)] // not every test binary uses every module of `common`
pub use cskd::reference::*;
