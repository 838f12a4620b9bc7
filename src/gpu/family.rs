//! Kernel families: the same mathematics, shaped for different hardware. Every family passes the
//! same reference and finite-difference tests; the adapter picks one, the user may override it
//! (`--kernels` on the CLI, `kernels` in the JS config, `CSKD_KERNELS` in the environment).

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelFamily {
    /// Register tiles, no workgroup memory, no barriers: CPU Vulkan drivers (lavapipe), where
    /// barriers are dear.
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

    /// Whether this family's reductions (batch norm's partial sums, the loss's rows and their
    /// sum) run one thread per reduction with no workgroup barrier: the CPU adapters' families.
    /// A barrier is dear on a CPU: SwiftShader compiles a kernel holding one about 10× slower
    /// (0.3–0.56 s each, most of a browser's first step, docs/BENCHMARKS.md W3), and llvmpipe runs
    /// every invocation of such a workgroup as a coroutine (batch norm took 1.7× longer on
    /// lavapipe with tree reductions). Real GPUs (shared) reduce across a workgroup, with
    /// subgroup operations where the device has them.
    pub fn serial_reductions(self) -> bool {
        self != KernelFamily::Shared
    }

    /// Whether the shared family's kernels fit these limits (256 invocations and 12 KiB of
    /// workgroup memory per workgroup; WebGPU guarantees both). Where they do not, its ops run
    /// the tiled kernels.
    pub fn shared_fits(limits: &wgpu::Limits) -> bool {
        limits.max_compute_invocations_per_workgroup >= 256
            && limits.max_compute_workgroup_size_x >= 256
            && limits.max_compute_workgroup_storage_size >= 768 * 16
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

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(device_type: wgpu::DeviceType, backend: wgpu::Backend, name: &str) -> KernelFamily {
        KernelFamily::for_adapter(&wgpu::AdapterInfo {
            name: name.into(),
            vendor: 0,
            device: 0,
            device_type,
            device_pci_bus_id: String::new(),
            driver: String::new(),
            driver_info: String::new(),
            backend,
            subgroup_min_size: 4,
            subgroup_max_size: 128,
            transient_saves_memory: None,
            limit_bucket: None,
        })
    }

    #[test]
    fn each_adapter_gets_its_family() {
        use wgpu::{Backend, DeviceType};
        assert_eq!(
            adapter(DeviceType::Cpu, Backend::Vulkan, "llvmpipe"),
            KernelFamily::Tiled
        );
        assert_eq!(
            adapter(DeviceType::Cpu, Backend::BrowserWebGpu, ""),
            KernelFamily::Compact
        );
        assert_eq!(
            adapter(
                DeviceType::Other,
                Backend::BrowserWebGpu,
                "SwiftShader Device"
            ),
            KernelFamily::Compact
        );
        assert_eq!(
            adapter(DeviceType::DiscreteGpu, Backend::Vulkan, "NVIDIA H200"),
            KernelFamily::Shared
        );
        assert_eq!(
            adapter(DeviceType::Other, Backend::BrowserWebGpu, ""),
            KernelFamily::Shared
        );
        assert!(KernelFamily::shared_fits(&wgpu::Limits::default()));
        assert!(!KernelFamily::shared_fits(
            &wgpu::Limits::downlevel_webgl2_defaults()
        ));
    }

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        for f in KernelFamily::ALL {
            assert_eq!(f.name().parse::<KernelFamily>(), Ok(f));
        }
        assert_eq!(" Shared ".parse::<KernelFamily>(), Ok(KernelFamily::Shared));
        let err = "fast".parse::<KernelFamily>().unwrap_err();
        assert!(err.contains("tiled, compact or shared"), "{err}");
    }
}
