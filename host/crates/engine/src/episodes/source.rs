//! What an agent's `from` brings it besides the run's tables: the run's trained model, as a
//! model (for agents that compute actions with it) and, when it has a tokenizer, as a text model
//! (for language agents).

use std::sync::{Arc, Mutex};

use assay_catalog::guard::GuardedModel;
use assay_catalog::Catalog;
use assay_store::Store;

/// A finished run's trained model with its tokenizer, as a text model an agent can use.
struct RunTextModel {
    model: Arc<Mutex<GuardedModel>>,
    tokenizer: Arc<dyn assay_sdk::Tokenizer>,
    device: assay_sdk::candle::Device,
    label: String,
}

impl assay_sdk::TextModel for RunTextModel {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn complete(
        &mut self,
        prompts: &[&str],
        sampling: &assay_sdk::Sampling,
    ) -> assay_sdk::Result<Vec<String>> {
        let model = lock(&self.model)?;
        self.local(&model).complete(prompts, sampling)
    }

    fn log_likelihood(
        &mut self,
        context: &str,
        continuation: &str,
    ) -> assay_sdk::Result<Option<f64>> {
        let model = lock(&self.model)?;
        self.local(&model).log_likelihood(context, continuation)
    }
}

fn lock(m: &Mutex<GuardedModel>) -> assay_sdk::Result<std::sync::MutexGuard<'_, GuardedModel>> {
    m.lock().map_err(|_| {
        assay_sdk::PluginError::invalid("the shared model was poisoned by an earlier panic")
    })
}

impl RunTextModel {
    fn local<'a>(&'a self, model: &'a GuardedModel) -> assay_sdk::LocalTextModel<'a> {
        assay_sdk::LocalTextModel {
            model,
            tokenizer: &*self.tokenizer,
            device: self.device.clone(),
            label: self.label.clone(),
        }
    }
}

/// The trained model of run `id`, shared, and as a text model when it has a tokenizer; `None`
/// for runs without a model, such as solver and episode runs.
pub(super) fn models_of(
    catalog: &Catalog,
    store: &Store,
    id: &str,
) -> anyhow::Result<(
    Option<assay_sdk::SharedModel>,
    Option<assay_sdk::SharedTextModel>,
)> {
    let spec_path = store.run_dir(id)?.join(assay_store::layout::SPEC);
    let raw = assay_spec::read_raw(&spec_path, &[])?;
    if !raw.contains_key("model") {
        return Ok((None, None));
    }
    let run = crate::subject::load_run_model(store, catalog, id)?;
    let model = Arc::new(Mutex::new(run.model));
    let shared = assay_sdk::SharedModel {
        model: model.clone(),
        data: run.data,
        device: run.device.clone(),
    };
    let text: Option<assay_sdk::SharedTextModel> = run.tokenizer.map(|tokenizer| {
        Arc::new(Mutex::new(RunTextModel {
            model,
            tokenizer,
            device: run.device,
            label: run.label,
        })) as assay_sdk::SharedTextModel
    });
    Ok((Some(shared), text))
}
