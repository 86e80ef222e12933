//! Loads plugin libraries: checksum, entry symbol, ABI stamp, shared SDK, then registration.

use std::path::{Path, PathBuf};

use assay_sdk::abi::{AbiStamp, PluginDeclaration, ENTRY_PREFIX, MAGIC};
use sha2::{Digest, Sha256};

/// Why a library was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No such file.
    #[error("plugin library {path}: not found (searched {searched})")]
    NotFound {
        /// The path as given.
        path: PathBuf,
        /// Where it was looked for.
        searched: String,
    },
    /// The file cannot be read.
    #[error("plugin library {path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes do not match the pinned checksum.
    #[error("plugin library {path}: sha256 is {actual}, registry pins {expected}; not loaded (rebuild it and update the registry, or check who changed the file)")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Pinned.
        expected: String,
        /// Found.
        actual: String,
    },
    /// The dynamic loader refused the file.
    #[error("plugin library {path}: not a loadable library: {message}")]
    NotLoadable {
        /// The file.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The library has no entry symbol.
    #[error("plugin library {path}: no symbol `{symbol}`, so it is not an assay plugin (plugins call `assay_sdk::export_plugin!` and keep the file name cargo gives them)")]
    NoEntry {
        /// The file.
        path: PathBuf,
        /// The symbol looked for.
        symbol: String,
    },
    /// The entry symbol does not start with the magic bytes.
    #[error(
        "plugin library {path}: symbol `{symbol}` is not an assay plugin declaration (bad magic)"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The symbol.
        symbol: String,
    },
    /// The stamp differs from the host's.
    #[error("plugin library {path} was built for a different host:\n{details}\nthis host: {host}\nrebuild it for this host: {fix}")]
    Stamp {
        /// The file.
        path: PathBuf,
        /// One line per differing field.
        details: String,
        /// The host's stamp in words.
        host: String,
        /// The command that rebuilds the library.
        fix: String,
    },
    /// The library carries its own copy of the SDK and candle.
    #[error("plugin library {path} links its own copy of assay-sdk and candle instead of the host's shared libassay_sdk; tensors from it would corrupt autograd. Build it against this host's SDK distribution: {fix}")]
    ForeignSdk {
        /// The file.
        path: PathBuf,
        /// The command that rebuilds the library.
        fix: String,
    },
}

/// The command that rebuilds a plugin crate against this host's SDK distribution.
fn rebuild_command(stamp: Option<&AbiStamp>) -> String {
    let dir = stamp
        .and_then(AbiStamp::source_dir)
        .unwrap_or_else(|| "CRATE_DIR".to_string());
    format!("`assay plugins build {dir}`")
}

/// A stamp mismatch as an error.
fn stamp_error(path: &Path, stamp: &AbiStamp) -> Option<LoadError> {
    let host = AbiStamp::host();
    let diffs = stamp.differences(&host);
    if diffs.is_empty() {
        return None;
    }
    let details = diffs
        .iter()
        .map(|(field, plugin, host)| format!("  {field}: plugin has `{plugin}`, host has `{host}`"))
        .collect::<Vec<_>>()
        .join("\n");
    Some(LoadError::Stamp {
        path: path.to_path_buf(),
        details,
        host: describe(&host),
        fix: rebuild_command(Some(stamp)),
    })
}

/// A library of another ABI version (whose stamp's other fields cannot be read).
fn abi_error(path: &Path, abi: u32) -> LoadError {
    LoadError::Stamp {
        path: path.to_path_buf(),
        details: format!(
            "  abi: plugin has `{abi}`, host has `{}`",
            assay_sdk::abi::ABI_VERSION
        ),
        host: describe(&AbiStamp::host()),
        fix: rebuild_command(None),
    }
}

/// Why the dynamic loader refused `path`, told from the stamp inside the file when there is one
/// (a library built against another SDK build fails on its first missing symbol, before its
/// stamp could be read through the loader).
fn explain_refusal(path: &Path, message: String) -> LoadError {
    if message.contains("undefined symbol") {
        if let Ok(bytes) = std::fs::read(path) {
            match assay_sdk::abi::find_stamp(&bytes) {
                Some(Ok(stamp)) => {
                    if let Some(e) = stamp_error(path, &stamp) {
                        return e;
                    }
                }
                Some(Err(abi)) => return abi_error(path, abi),
                None => {}
            }
        }
    }
    LoadError::NotLoadable {
        path: path.to_path_buf(),
        message,
    }
}

/// The entry symbol expected in `path`: `assay_plugin__` followed by the crate name, which is the
/// file name without `lib` and the extension.
pub fn entry_symbol(path: &Path) -> String {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = stem.split('.').next().unwrap_or_default();
    let stem = stem.strip_prefix("lib").unwrap_or(stem);
    format!("{ENTRY_PREFIX}{}", stem.replace('-', "_"))
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn describe(stamp: &AbiStamp) -> String {
    stamp
        .fields()
        .into_iter()
        .map(|(k, v)| {
            if v.starts_with(k) {
                v
            } else {
                format!("{k} {v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads `path` and returns its declaration after every check passed. The library is never
/// unloaded: components and tensors made by it may live until the process ends.
pub fn load(path: &Path, sha256: Option<&str>) -> Result<&'static PluginDeclaration, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound {
            path: path.to_path_buf(),
            searched: path.display().to_string(),
        });
    }
    if let Some(expected) = sha256 {
        let actual = sha256_file(path)?;
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(LoadError::Checksum {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    let symbol = entry_symbol(path);
    // SAFETY: loading a library runs its constructors; the registry is the trust boundary (see
    // registry.rs). RTLD_NOW makes unresolved symbols fail here, not in the middle of a run.
    let lib = unsafe {
        libloading::os::unix::Library::open(
            Some(path),
            libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL,
        )
    }
    .map_err(|e| {
        let message = match std::error::Error::source(&e) {
            Some(cause) => cause.to_string(),
            None => e.to_string(),
        };
        explain_refusal(path, message)
    })?;
    // Never unloaded, even when a check below fails: its constructors may already have linked
    // data (inventory nodes) into the shared SDK, which must stay mapped.
    let lib: &'static libloading::os::unix::Library = Box::leak(Box::new(lib));
    // SAFETY: we only take the symbol's address here; what it points to is checked below.
    let address: *const u8 = match unsafe { lib.get::<*const u8>(symbol.as_bytes()) } {
        Ok(sym) => *sym,
        Err(_) => {
            return Err(LoadError::NoEntry {
                path: path.to_path_buf(),
                symbol,
            })
        }
    };
    // SAFETY: any exported symbol with our name is at least 8 readable bytes (ours is far larger);
    // we read the magic before treating it as a stamp.
    let magic = unsafe { std::ptr::read_unaligned(address as *const [u8; 8]) };
    if magic != MAGIC {
        return Err(LoadError::BadMagic {
            path: path.to_path_buf(),
            symbol,
        });
    }
    // SAFETY: every ABI version's stamp starts with the magic and the ABI version (a u32).
    let abi = unsafe { std::ptr::read_unaligned(address.add(8) as *const u32) };
    if abi != assay_sdk::abi::ABI_VERSION {
        return Err(abi_error(path, abi));
    }
    // SAFETY: the magic and version say this is this ABI's `AbiStamp`, plain `#[repr(C)]` data
    // and the first field of `PluginDeclaration`.
    let stamp = unsafe { std::ptr::read_unaligned(address as *const AbiStamp) };
    if let Some(e) = stamp_error(path, &stamp) {
        return Err(e);
    }
    // SAFETY: the stamp matches, so the library was compiled by the same rustc against the same
    // SDK: the declaration's layout is ours.
    let decl: &'static PluginDeclaration = unsafe { &*(address as *const PluginDeclaration) };
    if !decl.shares_sdk() {
        return Err(LoadError::ForeignSdk {
            path: path.to_path_buf(),
            fix: rebuild_command(Some(&stamp)),
        });
    }
    Ok(decl)
}
