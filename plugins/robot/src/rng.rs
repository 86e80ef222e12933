//! The seeded generator: the SDK's [`SplitMix64`]; every scene, every expert's noise and every dataset's seeds draw from it, so a seed fixes
//! a whole run.

pub use assay_sdk::SplitMix64;
