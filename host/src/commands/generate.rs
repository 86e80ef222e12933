//! `assay generate`: continue prompts with a trained language model of the store, or with a
//! Hugging Face checkpoint. `--json` prints, per prompt, the prompt and generated token ids and
//! text, and why it stopped.

use std::path::Path;
use std::process::ExitCode;

use assay_engine::generate::{generate, Request};
use assay_sdk::Sampling;
use assay_store::Store;
use clap::Args;

use crate::builtins::load_catalog;

/// Arguments of `assay generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// A run id of the store (its dataset's or model's tokenizer is used), or `hf:ORG/NAME` /
    /// `hf:ORG/NAME@REVISION`: a Hugging Face checkpoint from the local cache (downloaded into
    /// it unless HF_HUB_OFFLINE=1).
    pub model: String,
    /// A prompt; repeat for several (prompts of equal token length run as one batch).
    #[arg(long = "prompt", required = true)]
    pub prompts: Vec<String>,
    /// Tokens to generate at most.
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// 0 = greedy; otherwise sample at this temperature.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Sample among the k most likely tokens (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Nucleus sampling: the most likely tokens covering this probability (1 = all).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Stop sequence; repeat for several.
    #[arg(long = "stop")]
    pub stop: Vec<String>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Recompute the whole sequence at every step instead of using the key/value cache.
    #[arg(long)]
    pub no_cache: bool,
    /// One JSON object per prompt: prompt, prompt and generated ids, text, why it stopped.
    #[arg(long)]
    pub json: bool,
}

/// `assay generate`.
pub fn run(
    args: &GenerateArgs,
    registry: Option<&Path>,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let request = Request {
        model: args.model.clone(),
        prompts: args.prompts.clone(),
        sampling: Sampling {
            max_tokens: args.max_tokens,
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
            stop: args.stop.clone(),
            seed: args.seed,
            use_cache: !args.no_cache,
        },
    };
    let out = generate(&load_catalog(registry)?, store, &request)?;
    for (prompt, g) in args.prompts.iter().zip(&out) {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "prompt": prompt,
                    "prompt_ids": g.prompt_ids,
                    "ids": g.ids,
                    "text": g.text,
                    "stop": format!("{:?}", g.stop).to_lowercase(),
                })
            );
        } else {
            println!("{}", g.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
