//! Text-in, text-out models ([`TextModel`]): what evaluation harnesses and agents talk to,
//! whether a model of this platform ([`LocalTextModel`], through [`crate::generate()`]) or a
//! service behind an HTTP API (in plugins).

use crate::error::Result;

/// A text-in, text-out model: what evaluation harnesses and agents talk to, whether it is a
/// model of this platform ([`LocalTextModel`]) or a service behind an HTTP API.
pub trait TextModel {
    /// A name for tables and logs (never a secret).
    fn name(&self) -> String;

    /// The continuation of each prompt.
    fn complete(&mut self, prompts: &[&str], sampling: &crate::Sampling) -> Result<Vec<String>>;

    /// Log-probability of `continuation` after `context`, when the backend can score text
    /// (`None` when it cannot, e.g. a chat API without log-probabilities).
    fn log_likelihood(&mut self, context: &str, continuation: &str) -> Result<Option<f64>>;
}

/// A [`crate::Model`] of this platform with its tokenizer, as a [`TextModel`].
pub struct LocalTextModel<'a> {
    /// The model (next-token logits).
    pub model: &'a dyn crate::Model,
    /// Its tokenizer.
    pub tokenizer: &'a dyn crate::Tokenizer,
    /// Where its tensors live.
    pub device: candle_core::Device,
    /// Shown by [`TextModel::name`].
    pub label: String,
}

impl TextModel for LocalTextModel<'_> {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn complete(&mut self, prompts: &[&str], sampling: &crate::Sampling) -> Result<Vec<String>> {
        Ok(
            crate::generate(self.model, self.tokenizer, prompts, sampling, &self.device)?
                .into_iter()
                .map(|g| g.text)
                .collect(),
        )
    }

    fn log_likelihood(&mut self, context: &str, continuation: &str) -> Result<Option<f64>> {
        let c = self.tokenizer.encode(context)?;
        let k = self.tokenizer.encode(continuation)?;
        let (lp, _) = crate::generate::log_likelihood(self.model, &c, &k, &self.device)?;
        Ok(Some(lp))
    }
}
