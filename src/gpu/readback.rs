//! Reading tensors back to the host: the one place the async boundary is crossed. On the web the
//! map completes when the browser gets to it (await); natively we poll the device until it has.

use crate::error::{Error, Result};
use crate::gpu::{BufferPool, Dtype, Gpu, Recorder, Tensor};

const STAGING: wgpu::BufferUsages =
    wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

/// Copies each tensor into a staging buffer, submits, and waits for all of them at once.
pub async fn read_many(rec: &mut Recorder<'_>, tensors: &[&Tensor]) -> Result<Vec<Vec<f32>>> {
    let gpu: &Gpu = rec.gpu;
    let stagings: Vec<wgpu::Buffer> = tensors.iter().map(|t| stage(rec, t)).collect();
    rec.submit();
    let receivers: Vec<_> = stagings.iter().map(start_map).collect();
    gpu.wait()?;
    let mut out = Vec::with_capacity(stagings.len());
    for ((staging, rx), t) in stagings.iter().zip(receivers).zip(tensors) {
        let bytes = take_mapped(staging, rx, t.bytes() as usize).await?;
        out.push(t.dtype().decode(&bytes, t.numel()));
    }
    for staging in stagings {
        rec.pool.give(staging);
    }
    gpu.check()?;
    Ok(out)
}

/// A pooled staging buffer with `t` copied into it at the next submit.
fn stage(rec: &mut Recorder<'_>, t: &Tensor) -> wgpu::Buffer {
    let staging = rec
        .pool
        .take(&rec.gpu.device, t.bytes().div_ceil(16).max(1) * 16, STAGING);
    rec.copy_to_staging(t, &staging);
    staging
}

/// A read started with the submit of its recording and taken later (`finish`): the host goes on
/// recording while the GPU works, and waits for this submission only, not for the ones after it.
pub(crate) struct PendingRead {
    staging: wgpu::Buffer,
    done: MapDone,
    submission: Option<wgpu::SubmissionIndex>,
    bytes: usize,
    dtype: Dtype,
    numel: usize,
}

/// Copies `t` into a staging buffer, submits everything recorded so far and starts the map.
pub(crate) fn start_read(rec: &mut Recorder<'_>, t: &Tensor) -> PendingRead {
    let staging = stage(rec, t);
    let submission = rec.submit();
    let done = start_map(&staging);
    PendingRead {
        staging,
        done,
        submission,
        bytes: t.bytes() as usize,
        dtype: t.dtype(),
        numel: t.numel(),
    }
}

impl PendingRead {
    /// Waits for the read (counted as overlapped when `later_work` is queued behind it), returns
    /// the values and gives the staging buffer back to `pool`.
    pub(crate) async fn finish(
        self,
        gpu: &Gpu,
        pool: &BufferPool,
        later_work: bool,
    ) -> Result<Vec<f32>> {
        match later_work {
            true => gpu.wait_for(self.submission)?,
            false => gpu.wait()?,
        }
        let bytes = take_mapped(&self.staging, self.done, self.bytes).await;
        pool.give(self.staging);
        let bytes = bytes?;
        gpu.check()?;
        Ok(self.dtype.decode(&bytes, self.numel))
    }
}

/// Reads one tensor as f32 (f16 tensors widened).
pub async fn read(rec: &mut Recorder<'_>, t: &Tensor) -> Result<Vec<f32>> {
    Ok(read_many(rec, &[t]).await?.pop().unwrap())
}

/// The completion of a `map_async`.
pub(crate) type MapDone =
    futures_channel::oneshot::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>;

/// Starts mapping a (submitted) staging buffer for reading.
pub(crate) fn start_map(staging: &wgpu::Buffer) -> MapDone {
    let (tx, rx) = futures_channel::oneshot::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    rx
}

/// Waits for the map started by `start_map`, copies the first `bytes` out and unmaps.
pub(crate) async fn take_mapped(
    staging: &wgpu::Buffer,
    done: MapDone,
    bytes: usize,
) -> Result<Vec<u8>> {
    done.await
        .map_err(|_| Error::Readback("the device was lost before the map finished".into()))?
        .map_err(|e| Error::Readback(e.to_string()))?;
    let view = staging
        .get_mapped_range(..)
        .map_err(|e| Error::Readback(e.to_string()))?;
    let out = view[..bytes].to_vec();
    drop(view);
    staging.unmap();
    Ok(out)
}
