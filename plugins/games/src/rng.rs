//! The seeded generator: the SDK's [`SplitMix64`]; every deal, every sampled action and every chance-sampled CFR traversal draw from it, so a seed fixes
//! a whole run.

pub use assay_sdk::SplitMix64;
