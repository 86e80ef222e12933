//! The prompt arguments shared by `assay cache` and `assay lens`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

/// Prompts given one by one or in a file.
#[derive(Args, Debug)]
pub struct PromptArgs {
    /// A prompt; repeatable.
    #[arg(long = "prompt")]
    pub prompt: Vec<String>,
    /// A file of prompts, one per line (empty lines skipped).
    #[arg(long)]
    pub prompts_file: Option<PathBuf>,
}

impl PromptArgs {
    /// Whether no prompt was given.
    pub fn is_empty(&self) -> bool {
        self.prompt.is_empty() && self.prompts_file.is_none()
    }

    /// The prompts, from `--prompt` then `--prompts-file`; none at all is an error.
    pub fn read(&self) -> anyhow::Result<Vec<String>> {
        let mut out = self.prompt.clone();
        if let Some(path) = &self.prompts_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading prompts from {}", path.display()))?;
            out.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(String::from),
            );
        }
        if out.is_empty() {
            bail!("no prompts: give --prompt (repeatable) or --prompts-file");
        }
        Ok(out)
    }
}
