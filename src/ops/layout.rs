//! Which Rust params struct fills which WGSL `Params`. `tests/params_layout.rs` reflects every
//! shader with naga and checks each struct's size and field offsets against these, so the two
//! sides of a uniform can never drift apart silently.

/// One params struct: its size, its named fields and the shaders whose `Params` it fills.
pub struct ParamsLayout {
    pub rust: &'static str,
    pub shaders: &'static [&'static str],
    pub size: usize,
    /// (WGSL member name, byte offset, bytes) of every field that is not padding.
    pub fields: Vec<(&'static str, usize, usize)>,
}

/// `params_layout!(Params, ["shader", ...], [field, field as wgsl_name, ...])`.
macro_rules! params_layout {
    ($ty:ty, [$($shader:literal),+], [$($field:ident $(as $wgsl:ident)?),+ $(,)?]) => {
        $crate::ops::layout::ParamsLayout {
            rust: concat!(module_path!(), "::", stringify!($ty)),
            shaders: &[$($shader),+],
            size: std::mem::size_of::<$ty>(),
            fields: {
                let zero: $ty = bytemuck::Zeroable::zeroed();
                vec![$((
                    $crate::ops::layout::params_layout!(@name $field $($wgsl)?),
                    std::mem::offset_of!($ty, $field),
                    std::mem::size_of_val(&zero.$field),
                )),+]
            },
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $wgsl:ident) => { stringify!($wgsl) };
}
pub(crate) use params_layout;

/// Every params struct the ops upload.
pub fn all() -> Vec<ParamsLayout> {
    use super::*;
    vec![
        augment::params_layout(),
        batchnorm::params_layout(),
        conv2d::params_layout(),
        linear::params_layout(),
        loss::params_layout(),
        mix::params_layout(),
        pool::params_layout(),
        sgd::params_layout(),
        soft_loss::params_layout(),
        softmax::params_layout(),
        count_layout(),
    ]
}

fn count_layout() -> ParamsLayout {
    use super::Count;
    params_layout!(Count, ["elementwise"], [n])
}
