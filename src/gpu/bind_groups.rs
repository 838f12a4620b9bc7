//! Bind groups made once and reused: a training step binds the same pooled buffers at the same
//! offsets, step after step (the pool hands them out in the same order), so its bind groups are
//! looked up rather than created. The cache belongs to a buffer pool (one trainer's plan) and
//! keeps what the last two recordings used: a steady step loop creates none after warm-up, and
//! buffers a recording no longer binds are not kept alive by it.

use std::collections::HashMap;

/// Bindings per kernel: the params uniform plus at most 9 storage buffers.
const MAX_BINDINGS: usize = 10;

/// One binding: buffer, offset, size (0 = the whole buffer).
type Binding = Option<(wgpu::Buffer, u64, u64)>;

/// What a bind group is made of: the pipeline (its layout), the params slot and every binding.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub pipeline: usize,
    pub bindings: [Binding; MAX_BINDINGS],
}

impl Key {
    /// `pipeline` identifies the layout (the address of the cached pipeline, which lives as long
    /// as the device); `bindings` in binding order from 0.
    pub fn new<'a>(
        pipeline: usize,
        bindings: impl IntoIterator<Item = (&'a wgpu::Buffer, u64, u64)>,
    ) -> Key {
        let mut key = Key {
            pipeline,
            bindings: Default::default(),
        };
        for (i, (b, offset, size)) in bindings.into_iter().enumerate() {
            assert!(i < MAX_BINDINGS, "more than {MAX_BINDINGS} bindings");
            key.bindings[i] = Some((b.clone(), offset, size));
        }
        key
    }
}

#[derive(Default)]
pub(crate) struct BindGroupCache {
    current: HashMap<Key, wgpu::BindGroup>,
    previous: HashMap<Key, wgpu::BindGroup>,
}

impl BindGroupCache {
    /// The bind group for `key`, made by `make` when neither this recording nor the last one made it.
    pub fn get(
        &mut self,
        key: Key,
        make: impl FnOnce() -> wgpu::BindGroup,
    ) -> (wgpu::BindGroup, bool) {
        if let Some(g) = self.current.get(&key) {
            return (g.clone(), false);
        }
        let (group, made) = match self.previous.remove(&key) {
            Some(g) => (g, false),
            None => (make(), true),
        };
        self.current.insert(key, group.clone());
        (group, made)
    }

    /// A recording ended: what it did not use is dropped at the end of the next.
    pub fn end_recording(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }
}
