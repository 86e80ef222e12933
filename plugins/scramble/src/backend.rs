//! The text model behind a `model` recoverer: the run's own model through
//! [`LocalTextModel`] (a decoder trained here, or an `hf:` checkpoint loaded as the run's
//! model) or an OpenAI-compatible API through [`OpenAiChat`] (`OPENAI_BASE_URL`,
//! `OPENAI_API_KEY` from the environment only).

use assay_sdk::prelude::*;
use assay_sdk::{LocalTextModel, TextModel};
use assay_text::openai::OpenAiChat;

use crate::prompts::{PromptStyle, Prompter, DEFAULT_DEMOS};
use crate::recover::Recoverer;

/// Where the `model` recoverer's text model lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum BackendKind {
    /// The run's model, with its tokenizer (else the dataset's).
    Local,
    /// An OpenAI-compatible API.
    Openai,
}

/// Runs `f` with the backend and the number of prompts to send per call (`batch` locally, one
/// to an API, so that a failure loses no answer already received). `probe` names the calling
/// component in errors.
pub fn with_backend<R>(
    kind: BackendKind,
    openai_model: &str,
    batch: usize,
    cx: &ProbeContext<'_>,
    probe: &str,
    f: impl FnOnce(&mut dyn TextModel, usize) -> Result<R>,
) -> Result<R> {
    match kind {
        BackendKind::Openai => {
            if openai_model.trim().is_empty() {
                return Err(PluginError::param(
                    "openai_model",
                    format!("probe `{probe}`: name the model the API should run"),
                ));
            }
            let mut remote = OpenAiChat::from_env(openai_model);
            f(&mut remote, 1)
        }
        BackendKind::Local => {
            let Some(tokenizer) = cx
                .model
                .generative()
                .and_then(|g| g.tokenizer())
                .or_else(|| cx.dataset.tokenizer())
            else {
                return Err(PluginError::param(
                    "backend",
                    format!(
                        "probe `{probe}`: the run's model has no tokenizer and neither has its \
                         dataset; train on a text dataset (scrambled_text) or use backend = \"openai\""
                    ),
                ));
            };
            let mut local = LocalTextModel {
                model: cx.model,
                tokenizer: &*tokenizer,
                device: cx.device.clone(),
                label: "local".into(),
            };
            f(&mut local, batch.max(1))
        }
    }
}

/// Where a model's answer is cut: at the end of the line for the trained format and for local
/// models (the paper stops Llama at a newline), nowhere for an API (the paper sends no stop
/// sequence to OpenAI; its answer is cut at `Scrambled sentence:` afterwards).
pub fn stops(kind: BackendKind, style: PromptStyle) -> Vec<String> {
    if style == PromptStyle::Trained || kind == BackendKind::Local {
        vec!["\n".into()]
    } else {
        Vec::new()
    }
}

/// The error of a backend that failed before answering anything: it names the probe, the
/// parameter and the backend.
pub fn unusable(probe: &str, backend: &str, error: &PluginError) -> PluginError {
    PluginError::param(
        "backend",
        format!("probe `{probe}` could not use {backend}: {error}"),
    )
}

/// The error of a later call after the backend was lost midway.
pub fn lost(probe: &str, backend: &str, done: usize, total: usize, error: &str) -> String {
    format!(
        "probe `{probe}` lost {backend} after {done} of {total} sentences ({error}); the metrics \
         of what it recovered are kept"
    )
}

/// How a `model` recoverer is set up: the parameters both probes share.
pub struct ModelSetup<'a> {
    /// Where the text model lives.
    pub kind: BackendKind,
    /// The model an OpenAI-compatible API runs.
    pub openai_model: &'a str,
    /// Prompts per call to a local model.
    pub batch: usize,
    /// How it is prompted.
    pub prompt: PromptStyle,
    /// Few-shot demonstrations (empty: the paper's).
    pub demos: &'a [String],
    /// Seeds the demonstrations' order.
    pub seed: u64,
    /// Most tokens generated per sentence.
    pub max_tokens: usize,
}

/// Runs `go` with the `model` recoverer of `setup` (see [`with_backend`]); returns what `go`
/// returned, the recoverer's name and the error that stopped it.
pub fn with_model_recoverer<T>(
    setup: &ModelSetup<'_>,
    cx: &ProbeContext<'_>,
    probe: &str,
    go: impl FnOnce(&mut Recoverer<'_>) -> (T, Option<PluginError>),
) -> Result<(T, String, Option<PluginError>)> {
    let demos: Vec<String> = if setup.demos.is_empty() {
        DEFAULT_DEMOS.iter().map(|s| s.to_string()).collect()
    } else {
        setup.demos.to_vec()
    };
    let prompter = Prompter::new(setup.prompt, &demos, setup.seed);
    with_backend(
        setup.kind,
        setup.openai_model,
        setup.batch,
        cx,
        probe,
        |backend, chunk| {
            let mut r = Recoverer::Model {
                backend,
                prompter,
                chunk,
                max_tokens: setup.max_tokens,
                stop: stops(setup.kind, setup.prompt),
            };
            let name = r.name();
            let (t, e) = go(&mut r);
            Ok((t, name, e))
        },
    )
}
