//! What an agent's `from` brings it besides the run's tables: the run's trained model with its
//! tokenizer, as a text model (for language agents), when the run has a model.

use assay_catalog::Catalog;
use assay_store::Store;

/// A finished run's trained model with its tokenizer, as a text model an agent can use.
struct RunTextModel(crate::subject::Subject);

impl assay_sdk::TextModel for RunTextModel {
    fn name(&self) -> String {
        self.0.label.clone()
    }

    fn complete(
        &mut self,
        prompts: &[&str],
        sampling: &assay_sdk::Sampling,
    ) -> assay_sdk::Result<Vec<String>> {
        self.local().complete(prompts, sampling)
    }

    fn log_likelihood(
        &mut self,
        context: &str,
        continuation: &str,
    ) -> assay_sdk::Result<Option<f64>> {
        self.local().log_likelihood(context, continuation)
    }
}

impl RunTextModel {
    fn local(&self) -> assay_sdk::LocalTextModel<'_> {
        assay_sdk::LocalTextModel {
            model: &self.0.model,
            tokenizer: &*self.0.tokenizer,
            device: self.0.device.clone(),
            label: self.0.label.clone(),
        }
    }
}

/// The model of run `id` as a text model, when the run trained one (its spec has `[model]`);
/// `None` for runs without a model, such as solver runs.
pub(super) fn text_model_of(
    catalog: &Catalog,
    store: &Store,
    id: &str,
    seed: u64,
) -> anyhow::Result<Option<assay_sdk::SharedTextModel>> {
    let spec_path = store.run_dir(id)?.join(assay_store::layout::SPEC);
    let raw = assay_spec::read_raw(&spec_path, &[])?;
    if !raw.contains_key("model") {
        return Ok(None);
    }
    let subject = crate::subject::load(catalog, store, id, seed)?;
    Ok(Some(std::sync::Arc::new(std::sync::Mutex::new(
        RunTextModel(subject),
    ))))
}
