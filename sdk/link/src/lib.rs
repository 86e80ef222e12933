//! # assay-sdk-link
//!
//! How a crate depends on the assay SDK. The SDK itself (`libassay_sdk.so`, candle inside) is
//! built once, in its own cargo workspace, and frozen into a **distribution**: a directory named
//! after the build (`assay-sdk-VERSION-BUILD/`) holding the library and the compiled metadata of
//! the SDK and its public dependencies. This crate's build script finds that distribution (or,
//! inside the assay checkout, builds and freezes it) and tells rustc where it is; this file
//! re-exports the SDK, so a dependent writes `assay_sdk::…` as usual:
//!
//! ```toml
//! [dependencies]
//! assay-sdk = { package = "assay-sdk-link", path = "DIST/link" }
//! ```
//!
//! Because candle is compiled only into the distribution, a crate that depends on this one never
//! compiles candle or the SDK again, whatever its own dependencies and features: its cargo graph
//! cannot change the library it links, and every crate built against one distribution shares one
//! copy of candle's state at run time. See the SDK's README for the reasons and the costs.

extern crate assay_sdk as sdk;

#[doc(inline)]
pub use sdk::*;
