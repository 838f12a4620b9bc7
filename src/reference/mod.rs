//! Plain CPU references of every kernel: the definitions the GPU is checked against, by the
//! kernel registry (`bench::kernels`, which the tests and `cskd bench kernels` both run) and by
//! W2. f64 throughout, except augment and mix, which are exact in f32 as their kernels.
//! Shape legend: N batch, C/K channels in/out, H/W spatial, B rows, K classes, T temperature.

mod augment;
mod batchnorm;
mod conv;
mod elementwise;
mod linear;
mod loss;
mod mix;
mod pool;
mod sgd;

pub use augment::augment;
pub use batchnorm::*;
pub use conv::*;
pub use elementwise::*;
pub use linear::*;
pub use loss::*;
pub use mix::mix;
pub use pool::*;
pub use sgd::*;
