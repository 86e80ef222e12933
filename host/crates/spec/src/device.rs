//! Devices as specs name them: `cpu` or `cuda:N`. Checking a name opens nothing (a spec check
//! must not touch a GPU); the engine opens the device when a run starts.

use assay_catalog::guard::guard;
use assay_sdk::candle::Device;
use assay_sdk::PluginError;

/// A device a spec names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceName {
    /// The CPU.
    Cpu,
    /// CUDA device `N`.
    Cuda(usize),
}

/// Parses `cpu` or `cuda:N`; `cuda:N` needs a build with the `cuda` feature.
pub fn parse(s: &str) -> Result<DeviceName, String> {
    if s == "cpu" {
        return Ok(DeviceName::Cpu);
    }
    if let Some(n) = s
        .strip_prefix("cuda:")
        .and_then(|n| n.parse::<usize>().ok())
    {
        if cfg!(feature = "cuda") {
            return Ok(DeviceName::Cuda(n));
        }
        return Err(format!(
            "`{s}` needs a build with the `cuda` feature (cargo build --features cuda)"
        ));
    }
    Err(format!("expected \"cpu\" or \"cuda:N\", found \"{s}\""))
}

/// Opens the device `s` names.
pub fn open(s: &str) -> Result<Device, String> {
    match parse(s)? {
        DeviceName::Cpu => Ok(Device::Cpu),
        DeviceName::Cuda(n) => open_cuda(n).map_err(|e| format!("cannot open {s}: {e}")),
    }
}

/// Opens CUDA device `n`. candle's `cudarc` loads the driver's and the toolkit's libraries on
/// first use and panics when one is missing: the catalog's guard turns that panic into an error
/// (printed once, as the error), to which the libraries' whereabouts are added.
fn open_cuda(n: usize) -> Result<Device, String> {
    guard("candle's CUDA backend", "Device::new_cuda", || {
        Ok(Device::new_cuda(n)?)
    })
    .map_err(|e| match e {
        PluginError::Candle(e) => e.to_string(),
        panic => format!(
            "{panic} (libcuda comes with NVIDIA's driver; libcublas, libcublasLt, libcurand \
                 and libnvrtc with the CUDA toolkit or its Python packages: put their folders \
                 on LD_LIBRARY_PATH)"
        ),
    })
}
