//! The one GPU device of the page (or worker), and its loss. A lost device never comes back
//! (tab in the background too long, driver reset, GPU removed): it is dropped here and the next
//! call opens a new one, so the page can rebuild its trainers from their last saves.

use super::{js_err, JsResult};
use crate::error::Error;
use crate::gpu::{Gpu, GpuOptions, KernelFamily};
use js_sys::Reflect;
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

thread_local! {
    /// One device for every trainer of the page (or worker).
    static GPU: RefCell<Option<Arc<Gpu>>> = const { RefCell::new(None) };
    /// The page's choice of kernel family (`setKernels`); `None` = the adapter's.
    static KERNELS: RefCell<Option<KernelFamily>> = const { RefCell::new(None) };
}

/// The cached device, or a new one when there is none or it was lost.
pub(super) async fn gpu() -> JsResult<Arc<Gpu>> {
    if let Some(g) = GPU.with(|g| g.borrow().clone()) {
        if !g.is_lost() {
            return Ok(g);
        }
        // Trainers built on the lost device keep their Arc until the page frees them.
        GPU.with(|cell| *cell.borrow_mut() = None);
    }
    if !webgpu_available() {
        return Err(js_err(Error::NoAdapter(
            "navigator.gpu is missing: WebGPU is unavailable in this browser. Use Chrome/Edge 113+ (on Linux enable chrome://flags/#enable-unsafe-webgpu), Safari 26 or Firefox 141+".into(),
        )));
    }
    let options = GpuOptions {
        kernels: KERNELS.with(|k| *k.borrow()),
        ..GpuOptions::default()
    };
    let g = Arc::new(Gpu::open(options).await.map_err(js_err)?);
    GPU.with(|cell| *cell.borrow_mut() = Some(g.clone()));
    Ok(g)
}

/// Whether `navigator.gpu` exists (on the page or in a worker).
#[wasm_bindgen(js_name = webgpuAvailable)]
pub fn webgpu_available() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &"navigator".into())
        .ok()
        .filter(|n| !n.is_undefined())
        .and_then(|n| Reflect::get(&n, &"gpu".into()).ok())
        .is_some_and(|g| !g.is_undefined() && !g.is_null())
}

/// Whether the current device was lost (`GPUDevice.lost` resolved). Trainers on it only fail from
/// now on: free them and create new ones (the next call opens a new device).
#[wasm_bindgen(js_name = gpuLost)]
pub fn gpu_lost() -> bool {
    GPU.with(|g| g.borrow().as_ref().is_some_and(|g| g.is_lost()))
}

/// Forgets the current device, so the next call opens a new one (after a device-lost error that
/// arrived before `GPUDevice.lost` resolved). Trainers on the old device stop working.
#[wasm_bindgen(js_name = resetGpu)]
pub fn reset_gpu() {
    if let Some(g) = GPU.with(|g| g.borrow_mut().take()) {
        g.device.destroy();
    }
}

/// Destroys the current device as a driver reset would (`GPUDevice.destroy()`), to test recovery.
/// Returns false when no device is open yet.
#[wasm_bindgen(js_name = destroyDeviceForTesting)]
pub fn destroy_device_for_testing() -> bool {
    GPU.with(|g| g.borrow().as_ref().map(|g| g.device.destroy()).is_some())
}

/// Chooses the kernel family ("tiled", "compact" or "shared"; null or "" = the adapter's choice)
/// for the current device and every device opened later: trainers created from then on use it
/// (those created before keep theirs). Throws on an unknown name.
#[wasm_bindgen(js_name = setKernels)]
pub fn set_kernels(name: Option<String>) -> JsResult<()> {
    let family = match name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(
            n.parse::<KernelFamily>()
                .map_err(|e| js_err(Error::Config(e)))?,
        ),
    };
    KERNELS.with(|k| *k.borrow_mut() = family);
    GPU.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some(g) = cell.as_ref() {
            let family = family.unwrap_or_else(|| KernelFamily::for_adapter(&g.info));
            *cell = Some(Arc::new(g.with_family(family)));
        }
    });
    Ok(())
}
