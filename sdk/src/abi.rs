//! The binary contract between the host and a plugin library: the stamp, the declaration that
//! every library exports, and the [`export_plugin!`](crate::export_plugin) macro that writes it.
//!
//! A library exports one C-ABI symbol, `assay_plugin__<crate name>`, holding a `#[repr(C)]`
//! [`PluginDeclaration`] that begins with an [`AbiStamp`]. The host reads the stamp's fixed-size
//! fields, and only the stamp, before it touches anything else; it refuses a library whose stamp
//! differs from its own and says which fields differ and how to rebuild. Only then does it use
//! the Rust-ABI fields that follow (the register function and the SDK anchor).
//!
//! The symbol carries the crate name so that many plugin crates can be linked into one host
//! binary as built-ins without their entry symbols clashing; the host derives the name from the
//! library's file name (`libfoo_bar.so` → `assay_plugin__foo_bar`), so keep the name cargo gives.

use crate::component::Registrar;

/// First eight bytes of every stamp.
pub const MAGIC: [u8; 8] = *b"ASSAYPLG";

/// Layout version of [`PluginDeclaration`] and of the traits behind it. Bumped on any change that
/// breaks compiled plugins.
pub const ABI_VERSION: u32 = 7;

/// The SDK's own version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The candle version the SDK is built with (pinned exactly in `sdk/Cargo.toml`).
pub const CANDLE_VERSION: &str = "0.11.1";

/// The compiler that built the SDK (`rustc -V`).
pub const RUSTC_VERSION: &str = env!("ASSAY_RUSTC_VERSION");

/// The id of this build of `libassay_sdk.so`: a hash of its sources, lock file, compiler,
/// features, profile, flags and location (see `build.rs`). Two builds with the same id have the
/// same symbols and layouts; a plugin compiled against one build loads only into a host that
/// uses the same build. The SDK distribution a host uses is named after it
/// (`assay-sdk-VERSION-BUILD`).
pub const SDK_BUILD: &str = env!("ASSAY_SDK_BUILD");

/// Prefix of the entry symbol; the crate name follows.
pub const ENTRY_PREFIX: &str = "assay_plugin__";

/// Feature bit: candle built with CUDA.
pub const FEATURE_CUDA: u32 = 1;

/// The feature bits of this build of the SDK.
pub const FEATURES: u32 = if cfg!(feature = "cuda") {
    FEATURE_CUDA
} else {
    0
};

/// A fixed-width, NUL-padded copy of `s` (truncated if longer), usable in constants.
pub const fn fixed<const N: usize>(s: &str) -> [u8; N] {
    let bytes = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N && i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Everything that must agree between host and plugin for Rust types (tensors above all) to
/// cross between them. Only fixed-size plain data, so the host can read it from any library.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbiStamp {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// Feature bits ([`FEATURE_CUDA`]).
    pub features: u32,
    /// [`SDK_VERSION`].
    pub sdk_version: [u8; 32],
    /// [`RUSTC_VERSION`].
    pub rustc_version: [u8; 96],
    /// [`CANDLE_VERSION`].
    pub candle_version: [u8; 32],
    /// `unwind` or `abort`: the plugin crate's panic strategy.
    pub panic_strategy: [u8; 16],
    /// [`SDK_BUILD`]: which build of `libassay_sdk.so` the library was compiled against.
    pub sdk_build: [u8; 32],
    /// The plugin crate's directory when it was compiled (truncated to 256 bytes). Not compared:
    /// the host names it in the command that rebuilds a refused library.
    pub source_dir: [u8; 256],
}

impl AbiStamp {
    /// The stamp of this build, with the given panic strategy (the macro passes the plugin
    /// crate's own).
    pub const fn current(panic_strategy: &str) -> Self {
        Self::of_crate(panic_strategy, "")
    }

    /// The stamp of a plugin crate compiled in `source_dir` (the macro passes the crate's
    /// `CARGO_MANIFEST_DIR`).
    pub const fn of_crate(panic_strategy: &str, source_dir: &str) -> Self {
        AbiStamp {
            magic: MAGIC,
            abi_version: ABI_VERSION,
            features: FEATURES,
            sdk_version: fixed(SDK_VERSION),
            rustc_version: fixed(RUSTC_VERSION),
            candle_version: fixed(CANDLE_VERSION),
            panic_strategy: fixed(panic_strategy),
            sdk_build: fixed(SDK_BUILD),
            source_dir: fixed(source_dir),
        }
    }

    /// Where the plugin crate was compiled, if the stamp says.
    pub fn source_dir(&self) -> Option<String> {
        Some(text(&self.source_dir)).filter(|s| !s.is_empty())
    }

    /// The host's own stamp.
    pub const fn host() -> Self {
        Self::current(if cfg!(panic = "unwind") {
            "unwind"
        } else {
            "abort"
        })
    }

    #[doc(hidden)]
    /// A stamp whose rustc field is wrong, for the host's tests of stamp checking.
    pub const fn tampered(mut self) -> Self {
        self.rustc_version = fixed("rustc 0.0.0 (tampered for tests)");
        self
    }

    /// Human-readable `(field, value)` pairs.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("abi", self.abi_version.to_string()),
            ("assay-sdk", text(&self.sdk_version)),
            ("rustc", text(&self.rustc_version)),
            ("candle-core", text(&self.candle_version)),
            (
                "features",
                if self.features & FEATURE_CUDA != 0 {
                    "cuda".to_string()
                } else {
                    "cpu".to_string()
                },
            ),
            ("panic", text(&self.panic_strategy)),
            ("sdk build", text(&self.sdk_build)),
        ]
    }

    /// Fields on which `self` (a plugin's stamp) differs from `host`, as
    /// `(field, plugin value, host value)`.
    pub fn differences(&self, host: &AbiStamp) -> Vec<(&'static str, String, String)> {
        self.fields()
            .into_iter()
            .zip(host.fields())
            .filter(|((_, a), (_, b))| a != b)
            .map(|((name, a), (_, b))| (name, a, b))
            .collect()
    }
}

/// Finds a stamp in the bytes of a library file without loading it: for a library the dynamic
/// loader refuses (built against another build of `libassay_sdk.so`, so its symbols do not
/// resolve), the stamp still says what it was built against. Returns the first stamp found:
/// `Ok` when it has this SDK's [`ABI_VERSION`] (and so this layout), `Err(abi_version)` when it
/// has another.
pub fn find_stamp(bytes: &[u8]) -> Option<std::result::Result<AbiStamp, u32>> {
    let size = std::mem::size_of::<AbiStamp>();
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(MAGIC.len()).position(|w| w == MAGIC) {
        let start = from + at;
        from = start + 1;
        let Some(version) = bytes.get(start + 8..start + 12) else {
            break;
        };
        let version = u32::from_ne_bytes([version[0], version[1], version[2], version[3]]);
        if version == ABI_VERSION && bytes.len() >= start + size {
            // SAFETY: `AbiStamp` is plain `#[repr(C)]` data of integers and byte arrays, valid for
            // any bit pattern, and `size` bytes are there to read.
            let stamp =
                unsafe { std::ptr::read_unaligned(bytes[start..].as_ptr() as *const AbiStamp) };
            return Some(Ok(stamp));
        }
        if (1..ABI_VERSION).contains(&version) {
            return Some(Err(version));
        }
    }
    None
}

/// One byte whose address identifies the copy of the SDK (and of candle) that a library uses.
/// Host and plugins must share one copy; the host compares addresses after loading.
pub static SDK_ANCHOR: u8 = 0;

/// What a library exports. The stamp comes first and is plain data; the fields after it are
/// Rust types and only read once the stamp matches.
#[repr(C)]
pub struct PluginDeclaration {
    /// Checked before anything else.
    pub stamp: AbiStamp,
    /// Address of [`SDK_ANCHOR`] as the library sees it.
    pub sdk_anchor: &'static u8,
    /// The library's crate name.
    pub library: &'static str,
    /// The library's crate version.
    pub version: &'static str,
    /// Registers the library's components.
    pub register: fn(&mut dyn Registrar),
}

impl PluginDeclaration {
    /// Whether the library shares the host's copy of the SDK.
    pub fn shares_sdk(&self) -> bool {
        std::ptr::eq(self.sdk_anchor, &SDK_ANCHOR)
    }
}

/// A library linked statically into a binary, found through `inventory`.
pub struct Builtin(pub &'static PluginDeclaration);

inventory::collect!(Builtin);

/// Every library linked into this process whose registration the linker kept, sorted by name.
///
/// Call it before loading any dynamic library: a library loaded later that links the SDK
/// dynamically also submits its declaration here when its constructors run.
pub fn builtins() -> Vec<&'static PluginDeclaration> {
    let mut out: Vec<_> = inventory::iter::<Builtin>
        .into_iter()
        .map(|b| b.0)
        .collect();
    out.sort_by_key(|d| d.library);
    out.dedup_by_key(|d| d.library);
    out
}

/// Declares a plugin library. Write it once, at the crate root, naming the function that
/// registers the library's components:
///
/// ```ignore
/// fn register(r: &mut dyn assay_sdk::Registrar) { /* r.add(...) for each component */ }
/// assay_sdk::export_plugin!(register);
/// ```
///
/// It expands to the entry symbol `assay_plugin__<crate name>` (for dynamic loading), an
/// `inventory` registration (for linking into a host as a built-in), and `pub fn link()`, which a
/// host binary that links the crate statically calls so that the linker keeps the registration.
#[macro_export]
macro_rules! export_plugin {
    ($register:path) => {
        $crate::__export_plugin!(
            $register,
            $crate::abi::AbiStamp::of_crate(
                $crate::__panic_strategy!(),
                env!("CARGO_MANIFEST_DIR")
            )
        );
    };
    ($register:path, tampered_stamp_for_tests) => {
        $crate::__export_plugin!(
            $register,
            $crate::abi::AbiStamp::of_crate(
                $crate::__panic_strategy!(),
                env!("CARGO_MANIFEST_DIR")
            )
            .tampered()
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __panic_strategy {
    () => {
        if cfg!(panic = "unwind") {
            "unwind"
        } else {
            "abort"
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($register:path, $stamp:expr) => {
        #[doc(hidden)]
        #[export_name = concat!("assay_plugin__", env!("CARGO_CRATE_NAME"))]
        pub static __ASSAY_PLUGIN_DECLARATION: $crate::abi::PluginDeclaration =
            $crate::abi::PluginDeclaration {
                stamp: $stamp,
                sdk_anchor: &$crate::abi::SDK_ANCHOR,
                library: env!("CARGO_CRATE_NAME"),
                version: env!("CARGO_PKG_VERSION"),
                register: $register,
            };

        $crate::inventory::submit! {
            $crate::abi::Builtin(&__ASSAY_PLUGIN_DECLARATION)
        }

        /// Keeps this library's registration when it is linked statically into a binary.
        pub fn link() {
            ::std::hint::black_box(&__ASSAY_PLUGIN_DECLARATION);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candle_version_matches_the_lock_file() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("workspace Cargo.lock");
        let mut lines = lock.lines();
        let found = std::iter::from_fn(|| lines.next())
            .skip_while(|l| *l != "name = \"candle-core\"")
            .nth(1)
            .expect("candle-core in Cargo.lock");
        assert_eq!(found, format!("version = \"{CANDLE_VERSION}\""));
    }

    #[test]
    fn tampered_stamp_names_the_rustc_field() {
        let host = AbiStamp::host();
        let diff = host.tampered().differences(&host);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].0, "rustc");
        assert_eq!(diff[0].2, RUSTC_VERSION);
    }

    #[test]
    fn a_stamp_is_found_in_raw_bytes() {
        let stamp = AbiStamp::of_crate("unwind", "/src/my-plugin");
        // SAFETY: viewing plain data as bytes.
        let raw = unsafe {
            std::slice::from_raw_parts(
                &stamp as *const AbiStamp as *const u8,
                std::mem::size_of::<AbiStamp>(),
            )
        };
        let mut file = b"\x7fELF and some ASSAYPLG noise".to_vec();
        file.extend_from_slice(raw);
        let found = find_stamp(&file).expect("a stamp").expect("this ABI");
        assert_eq!(found, stamp);
        assert_eq!(found.source_dir().as_deref(), Some("/src/my-plugin"));
        assert!(find_stamp(b"no stamp here").is_none());
    }

    #[test]
    fn fixed_pads_and_truncates() {
        assert_eq!(fixed::<4>("ab"), *b"ab\0\0");
        assert_eq!(fixed::<2>("abc"), *b"ab");
        assert_eq!(text(&fixed::<8>("xyz")), "xyz");
    }
}
