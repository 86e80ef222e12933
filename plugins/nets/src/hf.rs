//! Model `hf`: a Hugging Face checkpoint (GPT-2, Llama or Mistral architecture) as an assay
//! model, with its tokenizer. A spec may write `plugin = "hf:ORG/NAME"` (or `"hf:ORG/NAME@REV"`)
//! for `plugin = "hf"` with `repo` and `revision`.
//!
//! Files come from the local Hugging Face cache (`$HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`), in its layout (`models--ORG--NAME/refs/REV` naming a snapshot
//! directory), and are downloaded into it when missing, unless `HF_HUB_OFFLINE=1`. Read:
//! `config.json`, `model.safetensors` or the shards listed in `model.safetensors.index.json`,
//! and `tokenizer.json` when present. Weights are converted to `f32` and mapped onto the
//! `transformer` (GPT-2: learned positions, LayerNorm, GELU tanh, tied unembedding) or `llama`
//! (RMSNorm, rotary positions, SwiGLU, grouped-query attention) implementations, so they get
//! the same hook points, key/value cache and adapters. Mistral's sliding window is not applied
//! (it changes nothing below its window length, 4,096 tokens in Mistral 7B).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_sdk::prelude::*;
use hf_hub::{Cache, Repo, RepoType};

use crate::decoder::{rope_tables, Act, Block, Decoder, Names, Norm, Positions};
use crate::linear::Linear;

/// The files of a checkpoint, resolved in a cache.
pub(crate) struct Checkpoint {
    pub config: serde_json::Value,
    pub weights: Vec<PathBuf>,
    pub tokenizer: Option<PathBuf>,
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "yes"))
}

/// Resolves `repo` at `revision` in `cache`, downloading what is missing unless offline.
pub(crate) fn fetch(cache: &Cache, repo: &str, revision: &str) -> Result<Checkpoint> {
    let r = Repo::with_revision(repo.to_string(), RepoType::Model, revision.to_string());
    let cached = cache.repo(r.clone());
    let offline = offline();
    let api = if offline {
        None
    } else {
        Some(
            hf_hub::api::sync::ApiBuilder::from_cache(cache.clone())
                .build()
                .map_err(|e| PluginError::invalid(format!("hf:{repo}: {e}")))?,
        )
    };
    let get = |name: &str| -> std::result::Result<PathBuf, String> {
        if let Some(p) = cached.get(name) {
            return Ok(p);
        }
        match &api {
            None => Err(format!(
                "hf:{repo}@{revision}: `{name}` is not in the Hugging Face cache at {} and HF_HUB_OFFLINE is set",
                cache.path().display()
            )),
            Some(api) => api
                .repo(r.clone())
                .get(name)
                .map_err(|e| format!("hf:{repo}@{revision}: downloading `{name}`: {e}")),
        }
    };
    let config_path = get("config.json").map_err(PluginError::invalid)?;
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&config_path)
            .map_err(|e| PluginError::invalid(format!("{}: {e}", config_path.display())))?,
    )
    .map_err(|e| PluginError::invalid(format!("{}: {e}", config_path.display())))?;
    let weights = match get("model.safetensors") {
        Ok(p) => vec![p],
        Err(single) => {
            let index =
                get("model.safetensors.index.json").map_err(|_| PluginError::invalid(single))?;
            let text = std::fs::read_to_string(&index)
                .map_err(|e| PluginError::invalid(format!("{}: {e}", index.display())))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| PluginError::invalid(format!("{}: {e}", index.display())))?;
            let mut shards: Vec<String> = v["weight_map"]
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            shards.sort();
            shards.dedup();
            shards
                .iter()
                .map(|s| get(s).map_err(PluginError::invalid))
                .collect::<Result<_>>()?
        }
    };
    Ok(Checkpoint {
        config,
        weights,
        tokenizer: get("tokenizer.json").ok(),
    })
}

/// Every tensor of the checkpoint's safetensors files, as `f32` on `device`.
fn tensors(files: &[PathBuf], device: &Device) -> Result<HashMap<String, Tensor>> {
    let mut out = HashMap::new();
    for f in files {
        let map = assay_sdk::candle::safetensors::load(f, device)
            .map_err(|e| PluginError::invalid(format!("{}: {e}", f.display())))?;
        for (k, v) in map {
            out.insert(k, v.to_dtype(DType::F32)?);
        }
    }
    Ok(out)
}

struct Weights {
    map: HashMap<String, Tensor>,
    origin: String,
}

impl Weights {
    /// The tensor `name`, trying each prefix (`transformer.`, `model.`, none).
    fn get(&self, name: &str, prefixes: &[&str]) -> Result<Tensor> {
        for p in prefixes {
            if let Some(t) = self.map.get(&format!("{p}{name}")) {
                return Ok(t.clone());
            }
        }
        Err(PluginError::invalid(format!(
            "{}: no tensor `{name}` (with prefix {prefixes:?})",
            self.origin
        )))
    }
}

fn usize_of(config: &serde_json::Value, keys: &[&str]) -> Option<usize> {
    keys.iter()
        .find_map(|k| config.get(*k).and_then(|v| v.as_u64()))
        .map(|v| v as usize)
}

fn gpt2(config: &serde_json::Value, w: &Weights, all_positions: bool) -> Result<Decoder> {
    let pre = ["transformer.", ""];
    let (d, heads, layers) = (
        usize_of(config, &["n_embd"]).unwrap_or(768),
        usize_of(config, &["n_head"]).unwrap_or(12),
        usize_of(config, &["n_layer"]).unwrap_or(12),
    );
    let eps = config["layer_norm_epsilon"].as_f64().unwrap_or(1e-5);
    let act = match config["activation_function"].as_str().unwrap_or("gelu_new") {
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Act::GeluTanh,
        "gelu" => Act::Gelu,
        "relu" => Act::Relu,
        other => {
            return Err(PluginError::invalid(format!(
                "{}: activation `{other}` is not supported",
                w.origin
            )))
        }
    };
    let norm = |name: &str| -> Result<Norm> {
        Norm::from_tensors(
            w.get(&format!("{name}.weight"), &pre)?,
            Some(w.get(&format!("{name}.bias"), &pre)?),
            eps,
        )
    };
    let linear = |name: &str| -> Result<Linear> {
        Linear::from_tensors(
            w.get(&format!("{name}.weight"), &pre)?,
            Some(w.get(&format!("{name}.bias"), &pre)?),
        )
    };
    let mut blocks = Vec::with_capacity(layers);
    for i in 0..layers {
        let h = format!("h.{i}");
        let qkv_w = w.get(&format!("{h}.attn.c_attn.weight"), &pre)?;
        let qkv_b = w.get(&format!("{h}.attn.c_attn.bias"), &pre)?;
        let part = |j: usize| -> Result<Linear> {
            Linear::from_tensors(
                qkv_w.narrow(1, j * d, d)?.contiguous()?,
                Some(qkv_b.narrow(0, j * d, d)?.contiguous()?),
            )
        };
        blocks.push(Block {
            q: part(0)?,
            k: part(1)?,
            v: part(2)?,
            o: linear(&format!("{h}.attn.c_proj"))?,
            gate: None,
            w_in: linear(&format!("{h}.mlp.c_fc"))?,
            w_out: linear(&format!("{h}.mlp.c_proj"))?,
            ln1: Some(norm(&format!("{h}.ln_1"))?),
            ln2: Some(norm(&format!("{h}.ln_2"))?),
            names: Names::new(i),
        });
    }
    let wte = w.get("wte.weight", &pre)?;
    let unembed = match w.map.get("lm_head.weight") {
        Some(head) => Linear::from_tensors(head.t()?.contiguous()?, None)?,
        None => Linear::from_tensors(wte.t()?.contiguous()?, None)?,
    };
    Ok(Decoder {
        embed: Var::from_tensor(&wte)?,
        positions: Positions::Learned(Var::from_tensor(&w.get("wpe.weight", &pre)?)?),
        blocks,
        ln_final: Some(norm("ln_f")?),
        unembed: Some(unembed),
        heads,
        kv_heads: heads,
        d_head: d / heads,
        act,
        dropout: 0.0,
        mc_dropout: false,
        fused_attention: false,
        fused_qkv: false,
        training: false,
        dropout_rng: std::sync::Mutex::new(init::rng(0, "hf/dropout")),
        all_positions,
    })
}

fn llama(
    config: &serde_json::Value,
    w: &Weights,
    all_positions: bool,
    device: &Device,
) -> Result<Decoder> {
    let pre = ["model.", ""];
    let d = usize_of(config, &["hidden_size"]).unwrap_or(4096);
    let heads = usize_of(config, &["num_attention_heads"]).unwrap_or(32);
    let kv_heads = usize_of(config, &["num_key_value_heads"]).unwrap_or(heads);
    let layers = usize_of(config, &["num_hidden_layers"]).unwrap_or(32);
    let d_head = usize_of(config, &["head_dim"]).unwrap_or(d / heads);
    let eps = config["rms_norm_eps"].as_f64().unwrap_or(1e-6);
    let theta = config["rope_theta"]
        .as_f64()
        .or_else(|| config["rope_parameters"]["rope_theta"].as_f64())
        .unwrap_or(10_000.0);
    let rope_type = config["rope_parameters"]["rope_type"]
        .as_str()
        .or_else(|| config["rope_scaling"]["rope_type"].as_str())
        .unwrap_or("default");
    if rope_type != "default" {
        return Err(PluginError::invalid(format!(
            "{}: rope scaling `{rope_type}` is not supported",
            w.origin
        )));
    }
    if config["hidden_act"].as_str().unwrap_or("silu") != "silu" {
        return Err(PluginError::invalid(format!(
            "{}: only the SiLU (SwiGLU) activation is supported",
            w.origin
        )));
    }
    let max = usize_of(config, &["max_position_embeddings"]).unwrap_or(2048);
    // HF Linear weights are [out, in]; ours are input-major.
    let linear = |name: &str| -> Result<Linear> {
        Linear::from_tensors(
            w.get(&format!("{name}.weight"), &pre)?.t()?.contiguous()?,
            None,
        )
    };
    let norm = |name: &str| -> Result<Norm> {
        Norm::from_tensors(w.get(&format!("{name}.weight"), &pre)?, None, eps)
    };
    let mut blocks = Vec::with_capacity(layers);
    for i in 0..layers {
        let l = format!("layers.{i}");
        blocks.push(Block {
            ln1: Some(norm(&format!("{l}.input_layernorm"))?),
            q: linear(&format!("{l}.self_attn.q_proj"))?,
            k: linear(&format!("{l}.self_attn.k_proj"))?,
            v: linear(&format!("{l}.self_attn.v_proj"))?,
            o: linear(&format!("{l}.self_attn.o_proj"))?,
            ln2: Some(norm(&format!("{l}.post_attention_layernorm"))?),
            gate: Some(linear(&format!("{l}.mlp.gate_proj"))?),
            w_in: linear(&format!("{l}.mlp.up_proj"))?,
            w_out: linear(&format!("{l}.mlp.down_proj"))?,
            names: Names::new(i),
        });
    }
    let tied = config["tie_word_embeddings"].as_bool().unwrap_or(false);
    let unembed = match (tied, w.map.get("lm_head.weight")) {
        (false, Some(head)) => Some(Linear::from_tensors(head.t()?.contiguous()?, None)?),
        _ => None,
    };
    let (cos, sin) = rope_tables(max, d_head, theta, device)?;
    Ok(Decoder {
        embed: Var::from_tensor(&w.get("embed_tokens.weight", &pre)?)?,
        positions: Positions::Rotary { cos, sin },
        blocks,
        ln_final: Some(norm("norm")?),
        unembed,
        heads,
        kv_heads,
        d_head,
        act: Act::Silu,
        dropout: 0.0,
        mc_dropout: false,
        fused_attention: false,
        fused_qkv: false,
        training: false,
        dropout_rng: std::sync::Mutex::new(init::rng(0, "hf/dropout")),
        all_positions,
    })
}

/// A `tokenizer.json` with the end-of-text id of the model's config.
struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    eos: Option<u32>,
}

impl Tokenizer for HfTokenizer {
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
}

/// A loaded checkpoint: the architecture's model and the tokenizer.
struct HfModel {
    inner: Decoder,
    tokenizer: Option<Arc<dyn Tokenizer>>,
}

impl Model for HfModel {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        self.inner.forward(input, hooks)
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        self.inner.parameters()
    }
    fn buffers(&self) -> Vec<(String, Var)> {
        self.inner.buffers()
    }
    fn hook_points(&self) -> Vec<String> {
        self.inner.hook_points()
    }
    fn set_training(&mut self, training: bool) {
        self.inner.set_training(training)
    }

    fn generative(&self) -> Option<&dyn Generative> {
        Some(self)
    }
}

impl Generative for HfModel {
    fn tokenizer(&self) -> Option<Arc<dyn Tokenizer>> {
        self.tokenizer.clone()
    }

    fn context_length(&self) -> Option<usize> {
        self.inner.context_length()
    }

    fn forward_cached(&self, input: &Tensor, cache: &mut assay_sdk::KvCache) -> Result<Tensor> {
        self.inner.forward_cached(input, cache)
    }

    fn forward_cached_with_hooks(
        &self,
        input: &Tensor,
        cache: &mut assay_sdk::KvCache,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        self.inner.forward_cached_with_hooks(input, cache, hooks)
    }

    fn readout(&self, resid: &Tensor) -> Result<Tensor> {
        self.inner.readout(resid)
    }
}

/// Loads `repo` at `revision` from `cache` (downloading unless offline).
pub(crate) fn load(
    cache: &Cache,
    repo: &str,
    revision: &str,
    all_positions: bool,
    device: &Device,
) -> Result<Box<dyn Model>> {
    let ck = fetch(cache, repo, revision)?;
    let w = Weights {
        map: tensors(&ck.weights, device)?,
        origin: format!("hf:{repo}@{revision}"),
    };
    let inner = match ck.config["model_type"].as_str().unwrap_or("") {
        "gpt2" => gpt2(&ck.config, &w, all_positions)?,
        "llama" | "mistral" => llama(&ck.config, &w, all_positions, device)?,
        other => {
            return Err(PluginError::invalid(format!(
                "hf:{repo}: model_type `{other}` is not supported (gpt2, llama, mistral)"
            )))
        }
    };
    let tokenizer = match &ck.tokenizer {
        Some(path) => Some(Arc::new(HfTokenizer {
            inner: tokenizers::Tokenizer::from_file(path)
                .map_err(|e| PluginError::invalid(format!("{}: {e}", path.display())))?,
            eos: ck.config["eos_token_id"].as_u64().map(|v| v as u32),
        }) as Arc<dyn Tokenizer>),
        None => None,
    };
    Ok(Box::new(HfModel { inner, tokenizer }))
}

/// The checkpoint `repo` (`ORG/NAME`) at `revision` as a next-token model with its tokenizer,
/// from the Hugging Face cache of the environment (`HF_HOME`; downloaded unless
/// `HF_HUB_OFFLINE=1`): for components that use a checkpoint without being the run's model
/// (a language agent's text model, for example).
pub fn load_from_hub(repo: &str, revision: &str, device: &Device) -> Result<Box<dyn Model>> {
    if repo.is_empty() || !repo.contains('/') {
        return Err(PluginError::param(
            "repo",
            format!("expected ORG/NAME, found `{repo}`"),
        ));
    }
    load(&Cache::from_env(), repo, revision, true, device)
}

fn build(p: &Params, cx: &ModelContext) -> Result<Box<dyn Model>> {
    let repo = p.str("repo")?;
    if repo.is_empty() || !repo.contains('/') {
        return Err(PluginError::param(
            "repo",
            format!("expected ORG/NAME, found `{repo}`"),
        ));
    }
    let all_positions = !matches!(cx.data.objective, Objective::Classification { .. });
    load(
        &Cache::from_env(),
        repo,
        p.str("revision")?,
        all_positions,
        &cx.build.device,
    )
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model("hf", "0.1.0", build)
            .summary("a Hugging Face checkpoint (GPT-2, Llama, Mistral) with its tokenizer; `plugin = \"hf:ORG/NAME\"`")
            .param(Param::str("repo", "", "ORG/NAME on the Hub"))
            .param(Param::str("revision", "main", "branch, tag or commit")),
    );
}

/// Puts a checkpoint directory into a cache in the Hub's layout (for tests and offline use):
/// `models--ORG--NAME/refs/REV` and `snapshots/COMMIT/FILES`.
pub fn install_into_cache(
    cache_dir: &Path,
    repo: &str,
    revision: &str,
    files: &Path,
) -> std::io::Result<()> {
    let commit = "0000000000000000000000000000000000000000";
    let root = cache_dir.join(format!("models--{}", repo.replace('/', "--")));
    std::fs::create_dir_all(root.join("refs"))?;
    std::fs::write(root.join("refs").join(revision), commit)?;
    let snap = root.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap)?;
    for entry in std::fs::read_dir(files)? {
        let p = entry?.path();
        if p.is_file() {
            if let Some(name) = p.file_name() {
                std::fs::copy(&p, snap.join(name))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/reference/hf")
            .join(name)
    }

    #[test]
    fn gpt2_and_llama_logits_match_transformers() {
        let dir = std::env::temp_dir().join(format!("assay-hf-{}", std::process::id()));
        for name in ["tiny-gpt2", "tiny-llama"] {
            let repo = format!("assay-tests/{name}");
            install_into_cache(&dir, &repo, "main", &fixture(name)).unwrap();
            let model = load(&Cache::new(dir.clone()), &repo, "main", true, &Device::Cpu).unwrap();
            let expected: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(fixture(name).join("expected.json")).unwrap(),
            )
            .unwrap();
            let ids: Vec<u32> = expected["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            let tok = model.generative().unwrap().tokenizer().unwrap();
            assert_eq!(
                tok.encode(expected["prompt"].as_str().unwrap()).unwrap(),
                ids
            );
            let n = ids.len();
            let x = Tensor::from_vec(ids, (1, n), &Device::Cpu).unwrap();
            let got = model
                .forward(&x, &mut Hooks::none())
                .unwrap()
                .squeeze(0)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            let mut worst = 0f64;
            for (row, want) in got.iter().zip(expected["logits"].as_array().unwrap()) {
                for (g, w) in row.iter().zip(want.as_array().unwrap()) {
                    worst = worst.max((f64::from(*g) - w.as_f64().unwrap()).abs());
                }
            }
            assert!(worst < 1e-4, "{name}: largest logit difference {worst}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
