//! Kernel families: the same mathematics, shaped for different hardware. Every family passes the
//! same reference and finite-difference tests; the adapter picks one, the user may override it
//! (`--kernels` on the CLI, `kernels` in the JS config, `CSKD_KERNELS` in the environment).

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelFamily {
    /// Register tiles, no workgroup memory: CPU Vulkan drivers (lavapipe), where barriers are dear.
    Tiled,
    /// Small, simple kernels: browsers' software adapters (SwiftShader compiles big ones for minutes).
    Compact,
    /// Workgroup-shared-memory tiles (implicit-GEMM convolution, tiled matmul): real GPUs.
    Shared,
}

impl KernelFamily {
    pub const ALL: [KernelFamily; 3] = [
        KernelFamily::Tiled,
        KernelFamily::Compact,
        KernelFamily::Shared,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KernelFamily::Tiled => "tiled",
            KernelFamily::Compact => "compact",
            KernelFamily::Shared => "shared",
        }
    }

    /// The family for this adapter: shared memory on real GPUs, register tiles on a native CPU
    /// driver, compact kernels on a browser's software adapter.
    pub fn for_adapter(info: &wgpu::AdapterInfo) -> KernelFamily {
        match (info.device_type, info.backend) {
            (wgpu::DeviceType::Cpu, wgpu::Backend::BrowserWebGpu) => KernelFamily::Compact,
            (wgpu::DeviceType::Cpu, _) => KernelFamily::Tiled,
            // Browsers may hide the device type ("Other"): SwiftShader names itself.
            (wgpu::DeviceType::Other, wgpu::Backend::BrowserWebGpu)
                if info.name.to_lowercase().contains("swiftshader") =>
            {
                KernelFamily::Compact
            }
            _ => KernelFamily::Shared,
        }
    }
}

impl fmt::Display for KernelFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelFamily {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        KernelFamily::ALL
            .into_iter()
            .find(|f| f.name() == s.trim().to_lowercase())
            .ok_or_else(|| format!("unknown kernel family {s:?}: use tiled, compact or shared"))
    }
}
