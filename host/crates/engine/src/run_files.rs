//! What a run keeps beside its weights so that it can be loaded later without its dataset:
//! `data.json` (the shapes and objective its model was built for) and `tokenizer.json` (its
//! tokenizer in the Hugging Face format, when the dataset's can be written so). `assay generate`,
//! `cache`, `lens` and `patch` and `[init]` read them; runs made before they existed are rebuilt
//! from their dataset as before.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use assay_sdk::prelude::*;
use assay_store::layout;
use serde_json::{json, Value as Json};

/// Writes `data.json` and, when the tokenizer can be written, `tokenizer.json` into `dir`.
pub(crate) fn save(
    dir: &Path,
    info: &DataInfo,
    tokenizer: Option<&dyn assay_sdk::Tokenizer>,
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&data_info_json(info)?)?;
    assay_store::store::write_atomic(&dir.join(layout::DATA_INFO), text.as_bytes())?;
    if let Some(json) = tokenizer.and_then(|t| t.to_hf_json()) {
        assay_store::store::write_atomic(&dir.join(layout::TOKENIZER), json.as_bytes())?;
    }
    Ok(())
}

fn data_info_json(info: &DataInfo) -> anyhow::Result<Json> {
    let input = match info.input {
        InputKind::Features => json!({"kind": "features"}),
        InputKind::Tokens { vocab_size } => json!({"kind": "tokens", "vocab_size": vocab_size}),
        ref other => bail!("input kind {other:?} cannot be saved"),
    };
    let objective = match info.objective {
        Objective::Classification { classes } => {
            json!({"kind": "classification", "classes": classes})
        }
        Objective::Regression { outputs } => json!({"kind": "regression", "outputs": outputs}),
        Objective::NextToken { vocab } => json!({"kind": "next_token", "vocab": vocab}),
        ref other => bail!("objective {other:?} cannot be saved"),
    };
    Ok(json!({"input_shape": info.input_shape, "input": input, "objective": objective}))
}

/// The `data.json` of a run directory, if it has one.
pub(crate) fn load_data_info(dir: &Path) -> anyhow::Result<Option<DataInfo>> {
    let path = dir.join(layout::DATA_INFO);
    if !path.exists() {
        return Ok(None);
    }
    let bad = |what: &str| anyhow::anyhow!("{}: {what}", path.display());
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: Json = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let n = |v: &Json, key: &str| -> anyhow::Result<usize> {
        v[key]
            .as_u64()
            .map(|x| x as usize)
            .ok_or_else(|| bad(&format!("`{key}` is missing or not a count")))
    };
    let input_shape = v["input_shape"]
        .as_array()
        .ok_or_else(|| bad("`input_shape` is missing"))?
        .iter()
        .map(|x| {
            x.as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| bad("`input_shape` holds a non-count"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let input = match v["input"]["kind"].as_str() {
        Some("features") => InputKind::Features,
        Some("tokens") => InputKind::Tokens {
            vocab_size: n(&v["input"], "vocab_size")?,
        },
        other => return Err(bad(&format!("unknown input kind {other:?}"))),
    };
    let o = &v["objective"];
    let objective = match o["kind"].as_str() {
        Some("classification") => Objective::Classification {
            classes: n(o, "classes")?,
        },
        Some("regression") => Objective::Regression {
            outputs: n(o, "outputs")?,
        },
        Some("next_token") => Objective::NextToken {
            vocab: n(o, "vocab")?,
        },
        other => return Err(bad(&format!("unknown objective {other:?}"))),
    };
    Ok(Some(DataInfo {
        input_shape,
        input,
        objective,
    }))
}

/// Checks that a run starting from run `source_id`'s weights (`[init]`) tokenizes as that run
/// did: when both tokenizers can be written, their `tokenizer.json` texts must agree, or token
/// ids would mean different things to the weights.
pub(crate) fn check_same_tokenizer(
    source_dir: &Path,
    source_id: &str,
    tokenizer: Option<&dyn assay_sdk::Tokenizer>,
) -> anyhow::Result<()> {
    let path = source_dir.join(layout::TOKENIZER);
    let Some(ours) = tokenizer.and_then(|t| t.to_hf_json()) else {
        return Ok(());
    };
    if !path.exists() {
        return Ok(());
    }
    let theirs =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let parse = |t: &str| serde_json::from_str::<Json>(t).ok();
    if parse(&theirs) != parse(&ours) {
        bail!(
            "run {source_id} was trained with another tokenizer ({} differs from this run's dataset's): its weights would read token ids that mean different things",
            path.display()
        );
    }
    Ok(())
}

/// A tokenizer read from a run's `tokenizer.json`: end of text is its `<|endoftext|>` token.
struct SavedTokenizer {
    inner: tokenizers::Tokenizer,
    eos: Option<u32>,
}

impl assay_sdk::Tokenizer for SavedTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .inner
            .encode(text, false)
            .map_err(|e| PluginError::invalid(format!("tokenizer: {e}")))?
            .get_ids()
            .to_vec())
    }
    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| PluginError::invalid(format!("tokenizer: {e}")))
    }
    fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
    fn eos(&self) -> Option<u32> {
        self.eos
    }
    fn to_hf_json(&self) -> Option<String> {
        self.inner.to_string(false).ok()
    }
}

/// The `tokenizer.json` of a run directory, if it has one.
pub(crate) fn load_tokenizer(dir: &Path) -> anyhow::Result<Option<Arc<dyn assay_sdk::Tokenizer>>> {
    let path = dir.join(layout::TOKENIZER);
    if !path.exists() {
        return Ok(None);
    }
    let inner = tokenizers::Tokenizer::from_file(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let eos = inner.token_to_id("<|endoftext|>");
    Ok(Some(Arc::new(SavedTokenizer { inner, eos })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_info_round_trips_and_a_bad_file_names_itself() {
        let dir = std::env::temp_dir().join(format!("assay-run-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for info in [
            DataInfo::tokens(12, 40, Objective::NextToken { vocab: 40 }),
            DataInfo::tokens(3, 114, Objective::Classification { classes: 113 }),
            DataInfo::features(vec![2, 5], Objective::Regression { outputs: 3 }),
        ] {
            save(&dir, &info, None).unwrap();
            assert_eq!(load_data_info(&dir).unwrap(), Some(info));
        }
        std::fs::write(dir.join(layout::DATA_INFO), "{\"input_shape\": [1]}").unwrap();
        let err = load_data_info(&dir).unwrap_err().to_string();
        assert!(err.contains("data.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
