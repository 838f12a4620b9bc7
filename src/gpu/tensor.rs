//! Tensors: f32 storage buffers with a shape, drawn from a buffer pool so that a training step
//! allocates nothing once the first step has warmed the pool up. A tensor can also be a *view*:
//! a range of a larger buffer (a parameter's slot in the model's flat parameter arena), bound,
//! copied, written and read at its offset.
//! Elements are f32, except activations under mixed precision (`Dtype::F16`, `Gpu::activations`):
//! kernels see each binding's element type as the alias `T<binding>` (`shaders::source`).

use crate::gpu::bind_groups::BindGroupCache;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Free buffers by usage and byte size. A pool belongs to one user (a trainer, a test): buffers
/// released while a step is being recorded are reused later in the same recording, which is safe
/// because GPU commands run in recording order; pool buffers are only ever written by GPU commands.
///
/// A tensor may get a larger free buffer than it asks for (up to `REUSE_LARGER` times): without
/// it, every byte size keeps its own high-water mark, and sizes whose peaks fall at different
/// moments of a step never share memory (CS-KD's partner forward frees its 32×32 buffers just
/// before it needs 16×16 ones: docs/BENCHMARKS.md, Memory floor). Such a tensor binds the whole
/// buffer, as a `prefix` does: kernels bound their loops by their params, never by the buffer.
#[derive(Clone, Default)]
pub struct BufferPool {
    free: Arc<Mutex<FreeLists>>,
    created: Arc<Mutex<usize>>,
    created_bytes: Arc<Mutex<u64>>,
    /// The bind groups of this pool's recordings (see `gpu::bind_groups`).
    pub(crate) bind_groups: Arc<Mutex<BindGroupCache>>,
}

/// Free buffers keyed by (usage bits, byte size): a range of one usage's sizes is one query.
type FreeLists = BTreeMap<(u32, u64), Vec<wgpu::Buffer>>;

/// How much larger than a tensor a free buffer may be and still serve it. Unbounded, small
/// tensors (batch-norm statistics, split-K partials) pin activation-sized buffers that a later
/// activation then has to duplicate. Replaying a traced W1 CS-KD step (B = 64), the pool holds
/// 88.6 MiB with exact sizes only, 75.9 at 2×, 72.9 at 4×, 71.8 at 8× and at 64×, 79.8 unbounded.
pub const REUSE_LARGER: u64 = 8;

impl BufferPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of buffers this pool has ever created (a warmed-up step must not raise it).
    pub fn created(&self) -> usize {
        *self.created.lock().unwrap()
    }

    /// Bytes of all buffers this pool has ever created (the soak checks it stays flat).
    pub fn created_bytes(&self) -> u64 {
        *self.created_bytes.lock().unwrap()
    }

    /// A buffer of this usage and at least this size: the smallest free one up to
    /// `REUSE_LARGER` times the size for storage (tensors), of exactly this size otherwise
    /// (params arenas and readback staging, read by their size), else a new one. Storage buffers
    /// come back when their tensor drops; params arenas and staging buffers through `give`.
    pub(crate) fn take(
        &self,
        device: &wgpu::Device,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let largest = if usage == STORAGE {
            bytes.saturating_mul(REUSE_LARGER)
        } else {
            bytes
        };
        let key = |size| (usage.bits(), size);
        if let Some(b) = self
            .free
            .lock()
            .unwrap()
            .range_mut(key(bytes)..=key(largest))
            .find_map(|(_, list)| list.pop())
        {
            return b;
        }
        *self.created.lock().unwrap() += 1;
        *self.created_bytes.lock().unwrap() += bytes;
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pooled"),
            size: bytes,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Puts every free list in one order (by buffer identity), so that each recording starts from
    /// the same pool state and draws the same buffers in the same order: what lets a step's bind
    /// groups be reused (`gpu::bind_groups`).
    pub(crate) fn canonicalise(&self) {
        for list in self.free.lock().unwrap().values_mut() {
            list.sort_unstable();
        }
    }

    pub(crate) fn give(&self, buffer: wgpu::Buffer) {
        self.free
            .lock()
            .unwrap()
            .entry((buffer.usage().bits(), buffer.size()))
            .or_default()
            .push(buffer);
    }
}

/// How a tensor's elements are stored. Arithmetic is f32 either way: kernels widen on load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// 4-byte elements: f32 (or u32/i32 where a kernel says so).
    #[default]
    F32,
    /// IEEE half precision (WGSL `f16`): activations under mixed precision, where `SHADER_F16` exists.
    F16,
}

impl Dtype {
    pub fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        }
    }

    /// The WGSL element type.
    pub fn wgsl(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
        }
    }

    /// The value this dtype stores for `v` (what a kernel writing `v` leaves in memory).
    pub fn round(self, v: f32) -> f32 {
        match self {
            Dtype::F32 => v,
            Dtype::F16 => half::f16::from_f32(v).to_f32(),
        }
    }

    /// Host values in this dtype's bytes (for uploads).
    pub fn encode(self, values: &[f32]) -> Vec<u8> {
        match self {
            Dtype::F32 => bytemuck::cast_slice(values).to_vec(),
            Dtype::F16 => values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        }
    }

    /// `n` values from this dtype's bytes (for readbacks).
    pub fn decode(self, bytes: &[u8], n: usize) -> Vec<f32> {
        match self {
            Dtype::F32 => bytemuck::pod_collect_to_vec(&bytes[..4 * n]),
            Dtype::F16 => bytes[..2 * n]
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        }
    }
}

struct Storage {
    buffer: wgpu::Buffer,
    pool: Option<BufferPool>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.give(self.buffer.clone());
        }
    }
}

/// A GPU tensor: cheap to clone (shared storage), row-major, 4-byte elements (f32, or u32 where a
/// kernel says so) or, for activations under mixed precision, f16.
#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    shape: Vec<usize>,
    dtype: Dtype,
    /// Byte offset of element 0 in the buffer (0 unless a view).
    offset: u64,
    /// A view binds exactly its range; other tensors bind their whole buffer.
    view: bool,
}

impl Tensor {
    /// An f32 tensor from the pool (contents undefined until a kernel writes it).
    pub fn pooled(device: &wgpu::Device, pool: &BufferPool, shape: &[usize]) -> Tensor {
        Self::pooled_as(device, pool, shape, Dtype::F32)
    }

    /// A tensor of `dtype` from the pool.
    pub fn pooled_as(
        device: &wgpu::Device,
        pool: &BufferPool,
        shape: &[usize],
        dtype: Dtype,
    ) -> Tensor {
        let bytes = byte_size(shape, dtype);
        Tensor {
            storage: Arc::new(Storage {
                buffer: pool.take(device, bytes, STORAGE),
                pool: Some(pool.clone()),
            }),
            shape: shape.to_vec(),
            dtype,
            offset: 0,
            view: false,
        }
    }

    /// A tensor with its own buffer (parameters, uploads), filled with `data`.
    pub fn from_slice<T: bytemuck::Pod>(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        shape: &[usize],
        data: &[T],
    ) -> Tensor {
        let t = Self::zeros(device, shape);
        assert_eq!(
            std::mem::size_of_val(data),
            t.numel() * 4,
            "data does not fill shape {shape:?}"
        );
        t.write_queue(queue, data);
        t
    }

    /// A tensor of `dtype` with its own buffer, holding `data` as that dtype stores it
    /// (`Dtype::round`).
    pub fn from_f32s(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        shape: &[usize],
        data: &[f32],
        dtype: Dtype,
    ) -> Tensor {
        let t = Self::zeros_as(device, shape, dtype);
        assert_eq!(data.len(), t.numel(), "data does not fill shape {shape:?}");
        let mut bytes = dtype.encode(data);
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        t.write_queue(queue, &bytes);
        t
    }

    /// An f32 tensor with its own zero-filled buffer.
    pub fn zeros(device: &wgpu::Device, shape: &[usize]) -> Tensor {
        Self::zeros_as(device, shape, Dtype::F32)
    }

    /// A tensor of `dtype` with its own zero-filled buffer.
    pub fn zeros_as(device: &wgpu::Device, shape: &[usize], dtype: Dtype) -> Tensor {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("owned"),
            size: byte_size(shape, dtype),
            usage: STORAGE,
            mapped_at_creation: false,
        });
        Tensor {
            storage: Arc::new(Storage { buffer, pool: None }),
            shape: shape.to_vec(),
            dtype,
            offset: 0,
            view: false,
        }
    }

    /// A view of `shape` starting `offset` bytes into this tensor's range (a parameter's slot in
    /// an arena). The caller keeps `offset` aligned to the adapter's
    /// `min_storage_buffer_offset_alignment` so that the view can be bound.
    pub fn view(&self, offset: u64, shape: &[usize]) -> Tensor {
        assert_eq!(self.dtype, Dtype::F32, "views are of f32 arenas");
        let bytes = shape.iter().product::<usize>() as u64 * 4;
        assert!(
            offset % 4 == 0,
            "view offset {offset} is not a multiple of 4"
        );
        assert!(
            self.offset + offset + bytes <= self.buffer().size(),
            "view of {bytes} bytes at {offset} outside the buffer"
        );
        Tensor {
            storage: self.storage.clone(),
            shape: shape.to_vec(),
            dtype: Dtype::F32,
            offset: self.offset + offset,
            view: true,
        }
    }

    /// Byte offset of the tensor in its buffer.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What a bind group entry binds: the view's range, else the whole buffer.
    /// What `binding` binds: buffer, offset and size (0: the whole buffer).
    pub(crate) fn binding_key(&self) -> (&wgpu::Buffer, u64, u64) {
        match self.view {
            false => (self.buffer(), 0, 0),
            true => (self.buffer(), self.offset, self.bytes().max(4)),
        }
    }

    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        if !self.view {
            return self.buffer().as_entire_binding();
        }
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buffer(),
            offset: self.offset,
            size: wgpu::BufferSize::new(self.bytes().max(4)),
        })
    }

    /// Bytes from the tensor's offset to the end of its buffer (what a copy into it may fill).
    pub fn capacity(&self) -> u64 {
        self.buffer().size() - self.offset
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The tensor's bytes (f16: rounded up to whole 4-byte words, which copies and bindings need).
    pub fn bytes(&self) -> u64 {
        (self.numel() as u64 * self.dtype.size()).next_multiple_of(4)
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.storage.buffer
    }

    /// The same storage viewed with another shape of equal size.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.numel(),
            "reshape {:?} -> {:?}",
            self.shape,
            shape
        );
        Tensor {
            shape: shape.to_vec(),
            ..self.clone()
        }
    }

    /// The first elements of the same storage, viewed with a (smaller or equal) shape.
    pub fn prefix(&self, shape: &[usize]) -> Tensor {
        assert!(
            shape.iter().product::<usize>() <= self.numel(),
            "prefix {shape:?} larger than {:?}",
            self.shape
        );
        Tensor {
            shape: shape.to_vec(),
            ..self.clone()
        }
    }

    /// Uploads `data` to the start of an owned tensor (at its offset, for a view). The write lands before the next submit's
    /// commands, so pooled tensors (written by GPU commands only) must not be written this way.
    pub fn write<T: bytemuck::Pod>(&self, gpu: &crate::gpu::Gpu, data: &[T]) {
        gpu.counters.written(std::mem::size_of_val(data) as u64);
        self.write_queue(&gpu.queue, data);
    }

    fn write_queue<T: bytemuck::Pod>(&self, queue: &wgpu::Queue, data: &[T]) {
        assert!(
            self.storage.pool.is_none(),
            "only owned tensors take host writes"
        );
        assert!(
            std::mem::size_of_val(data) as u64 <= self.capacity()
                && (!self.view || std::mem::size_of_val(data) as u64 <= self.bytes()),
            "write larger than the tensor"
        );
        queue.write_buffer(
            &self.storage.buffer,
            self.offset,
            bytemuck::cast_slice(data),
        );
    }

    /// Whether this is the only handle on its buffer (no clone, view or reshape of it anywhere):
    /// a caller that owns it and is done with it may then let a kernel overwrite it in place.
    pub fn unshared(&self) -> bool {
        Arc::strong_count(&self.storage) == 1
    }

    /// Whether two tensors are the same memory: same storage and, for views, same range.
    pub fn same_view(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
            && self.offset == other.offset
            && self.view == other.view
            && (!self.view || self.numel() == other.numel())
    }
}

/// Bytes for a shape; at least 16 so that empty tensors still bind.
fn byte_size(shape: &[usize], dtype: Dtype) -> u64 {
    let n = shape.iter().product::<usize>() as u64 * dtype.size();
    n.max(16).div_ceil(16) * 16
}
