//! The SDK distribution this host runs on: the frozen directory (`assay-sdk-VERSION-BUILD/`)
//! holding the `libassay_sdk.so` the process loaded and the compiled metadata that plugins
//! compile against. `assay plugins sdk` prints it; `assay new-plugin` and `assay plugins build`
//! point plugin crates at it.

use std::path::{Path, PathBuf};

/// The file that marks a complete distribution (written last by `sdk/link/build.rs`).
pub const MARKER: &str = "assay-sdk-dist.toml";

/// Why the distribution cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The dynamic loader does not say where the SDK came from.
    #[error("cannot tell which libassay_sdk.so this process loaded")]
    Unknown,
    /// The loaded library is not inside a distribution.
    #[error("{0} is not inside an assay SDK distribution (no {MARKER} beside it); rebuild the host with `cargo build` in its checkout")]
    NotADistribution(PathBuf),
    /// The marker cannot be read.
    #[error("{path}: {message}")]
    BadMarker {
        /// The marker file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A distribution directory and what its marker says.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// The directory (holds `libassay_sdk.so`, `*.rmeta`, `link/` and the marker).
    pub dir: PathBuf,
    /// The SDK version.
    pub version: String,
    /// The SDK build id (`assay_sdk::abi::SDK_BUILD` of the library inside).
    pub build: String,
    /// The toolchain's library directory (`libstd-*.so`).
    pub std_dir: PathBuf,
}

#[derive(serde::Deserialize)]
struct Marker {
    version: String,
    build: String,
    std_dir: PathBuf,
}

impl Distribution {
    /// The distribution of the `libassay_sdk.so` this process loaded.
    pub fn current() -> Result<Distribution, DistributionError> {
        let library = loaded_sdk_library().ok_or(DistributionError::Unknown)?;
        let dir = library
            .parent()
            .map(Path::to_path_buf)
            .ok_or(DistributionError::Unknown)?;
        if !dir.join(MARKER).is_file() {
            return Err(DistributionError::NotADistribution(library));
        }
        Distribution::read(&dir)
    }

    /// Reads the distribution at `dir`.
    pub fn read(dir: &Path) -> Result<Distribution, DistributionError> {
        let path = dir.join(MARKER);
        let bad = |message: String| DistributionError::BadMarker {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let marker: Marker = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        Ok(Distribution {
            dir: dir.to_path_buf(),
            version: marker.version,
            build: marker.build,
            std_dir: marker.std_dir,
        })
    }

    /// The crate that plugins depend on (`assay-sdk = { package = "assay-sdk-link", path = … }`).
    pub fn link_crate(&self) -> PathBuf {
        self.dir.join("link")
    }
}

/// Path of the shared library that holds the SDK's code, as the dynamic loader reports it
/// (`dladdr` of an SDK static; `/proc/self/maps` if that names another object, as it would
/// after a copy relocation into the executable).
fn loaded_sdk_library() -> Option<PathBuf> {
    let by_address = sdk_library_by_address();
    if by_address
        .as_ref()
        .is_some_and(|p| p.file_name().is_some_and(|n| n == "libassay_sdk.so"))
    {
        return by_address;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with("/libassay_sdk.so"))
        .map(PathBuf::from)
}

fn sdk_library_by_address() -> Option<PathBuf> {
    let anchor = &assay_sdk::abi::SDK_ANCHOR as *const u8 as *const libc::c_void;
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables; `info` is a valid out-parameter.
    let found = unsafe { libc::dladdr(anchor, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path owned by the loader, valid while the library
    // stays loaded (for the whole process).
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    use std::os::unix::ffi::OsStrExt;
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
    Some(path.canonicalize().unwrap_or(path))
}
