//! Files on disk (native only): bounded reads that refuse what is not a regular file, and
//! atomic writes that never leave a half-written file as the only copy.

pub mod atomic;
pub mod lock;
pub mod read;
pub mod same;

pub use atomic::{write_atomic, write_atomic_with};
pub use lock::RunLock;
pub use read::read_regular;
pub use same::{refuse_overwriting_input, same_file};
