//! Devices as specs name them: `cpu` or `cuda:N`. Checking a name opens nothing (a spec check
//! must not touch a GPU); the engine opens the device when a run starts.

use assay_sdk::candle::Device;

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
/// first use and panics when one is missing; that panic becomes an error here (the panic hook is
/// silenced meanwhile, so the message is printed once, as an error).
fn open_cuda(n: usize) -> Result<Device, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(|| Device::new_cuda(n));
    std::panic::set_hook(hook);
    match opened {
        Ok(device) => device.map_err(|e| e.to_string()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a CUDA library could not be loaded");
            Err(format!(
                "{why} (libcuda comes with NVIDIA's driver; libcublas, libcublasLt, libcurand \
                 and libnvrtc with the CUDA toolkit or its Python packages: put their folders \
                 on LD_LIBRARY_PATH)"
            ))
        }
    }
}
