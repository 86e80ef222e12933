//! Activation caches: the activations at chosen hook points for a set of prompts, in one
//! safetensors file that Python's `safetensors` and assay ([`read`]) load.
//!
//! Layout: prompts are right-padded to the longest (a causal model's earlier positions do not see
//! the padding), so every hook point is one tensor `[prompts, ...the activation's shape without
//! its batch axis]` in `f32`; `tokens` (`[prompts, positions]`, `i64`, padded with the pad id)
//! and `lengths` (`[prompts]`, `i64`) give what each row holds. The header's `__metadata__` holds
//! `format` (`assay-activations/1`), `model`, `prompts` and `hooks` (JSON lists) and
//! `pad_token`.
//!
//! Memory stays bounded: the file is sized first and each batch's activations are written at
//! their offsets, so at most one batch is held. A request whose file would exceed `max_bytes` is
//! refused before anything is written; a failed write leaves no file behind.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use assay_engine::subject::Subject;
use assay_sdk::prelude::*;
use serde_json::json;

/// The `format` entry of the header.
pub const FORMAT: &str = "assay-activations/1";

/// What to cache.
#[derive(Debug, Clone)]
pub struct Request {
    /// Glob patterns over hook names (`blocks.*.hook_resid_post`).
    pub hooks: Vec<String>,
    /// The prompts: a label (the text, or `test example I` of a dataset) and the token ids.
    pub prompts: Vec<(String, Vec<u32>)>,
    /// Prompts per forward pass.
    pub batch: usize,
    /// Refuse a file larger than this.
    pub max_bytes: Option<u64>,
    /// The file to write.
    pub out: PathBuf,
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The hook points cached, in the model's order.
    pub hooks: Vec<String>,
    /// The file's size.
    pub bytes: u64,
    /// Prompts and padded positions.
    pub prompts: usize,
    /// Positions per prompt after padding.
    pub positions: usize,
}

struct Entry {
    name: String,
    dtype: &'static str,
    shape: Vec<usize>,
    start: u64,
    /// Bytes per prompt.
    row: u64,
}

/// Writes the cache that `req` asks for; `progress(done, total)` is called after each batch.
pub fn write(
    subject: &Subject,
    req: &Request,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<Written> {
    if req.prompts.is_empty() {
        bail!("no prompts: give --prompt (repeatable) or --prompts-file");
    }
    let model: &dyn Model = &subject.model;
    let hooks = assay_sdk::hooks::select(&req.hooks, &model.hook_points())?;
    let encoded: Vec<Vec<u32>> = req.prompts.iter().map(|(_, ids)| ids.clone()).collect();
    if let Some(i) = encoded.iter().position(Vec::is_empty) {
        bail!("prompt {i} has no tokens");
    }
    let labels: Vec<&String> = req.prompts.iter().map(|(label, _)| label).collect();
    let positions = encoded.iter().map(Vec::len).max().unwrap_or(0);
    if let Some(n) = model.generative().and_then(|g| g.context_length()) {
        if positions > n {
            bail!(
                "the longest prompt has {positions} tokens, but {} takes at most {n}",
                subject.label
            );
        }
    }
    let pad = subject.tokenizer.eos().unwrap_or(0);
    let batch_of = |rows: &[Vec<u32>]| -> anyhow::Result<Tensor> {
        let flat = padded(rows, positions, pad);
        Ok(Tensor::from_vec(
            flat,
            (rows.len(), positions),
            &subject.device,
        )?)
    };
    // One prompt's pass gives every hook point's shape; nothing is written yet.
    let mut probe = Hooks::capture(hooks.iter().cloned());
    model.forward(&batch_of(&encoded[..1])?, &mut probe)?;
    let n = encoded.len();
    let mut entries = Vec::new();
    let mut offset = 0u64;
    for name in &hooks {
        let Some(t) = probe.cached(name) else {
            bail!(
                "hook point `{name}` did not fire in {}'s forward pass",
                subject.label
            );
        };
        if t.dims().first() != Some(&1) || t.rank() < 2 {
            bail!(
                "hook point `{name}` ({:?}) has no batch axis, so it cannot be cached per prompt",
                t.dims()
            );
        }
        let per: Vec<usize> = t.dims()[1..].to_vec();
        let row = 4 * per.iter().product::<usize>() as u64;
        let mut shape = vec![n];
        shape.extend(per);
        entries.push(Entry {
            name: name.clone(),
            dtype: "F32",
            shape,
            start: offset,
            row,
        });
        offset += row * n as u64;
    }
    for (name, shape) in [("tokens", vec![n, positions]), ("lengths", vec![n])] {
        let row = 8 * shape[1..].iter().product::<usize>() as u64;
        entries.push(Entry {
            name: name.into(),
            dtype: "I64",
            shape,
            start: offset,
            row,
        });
        offset += row * n as u64;
    }
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        json!({
            "format": FORMAT,
            "model": subject.label,
            "prompts": serde_json::to_string(&labels)?,
            "hooks": serde_json::to_string(&hooks)?,
            "pad_token": pad.to_string(),
        }),
    );
    for e in &entries {
        header.insert(
            e.name.clone(),
            json!({"dtype": e.dtype, "shape": e.shape, "data_offsets": [e.start, e.start + e.row * n as u64]}),
        );
    }
    let mut head = serde_json::to_string(&header)?.into_bytes();
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let base = 8 + head.len() as u64;
    let total = base + offset;
    if let Some(max) = req.max_bytes {
        if total > max {
            bail!(
                "the cache would take {total} bytes ({} hook points x {n} prompts x {positions} positions), over --max-bytes {max}; choose fewer hook points or prompts",
                hooks.len()
            );
        }
    }
    let partial = partial_path(&req.out);
    let result = (|| -> anyhow::Result<()> {
        let file =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        file.set_len(total)?;
        file.write_all_at(&(head.len() as u64).to_le_bytes(), 0)?;
        file.write_all_at(&head, 8)?;
        let step = req.batch.max(1);
        for (b, chunk) in encoded.chunks(step).enumerate() {
            let first = (b * step) as u64;
            let mut hk = Hooks::capture(hooks.iter().cloned());
            model.forward(&batch_of(chunk)?, &mut hk)?;
            let cache = hk.take_cache();
            for e in entries.iter().filter(|e| e.dtype == "F32") {
                let Some(t) = cache.get(&e.name) else {
                    bail!("hook point `{}` did not fire", e.name);
                };
                let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
                let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                file.write_all_at(&bytes, base + e.start + first * e.row)?;
            }
            progress((b * step + chunk.len()).min(n), n);
        }
        let tokens: Vec<u8> = padded(&encoded, positions, pad)
            .into_iter()
            .flat_map(|id| i64::from(id).to_le_bytes())
            .collect();
        let lengths: Vec<u8> = encoded
            .iter()
            .flat_map(|r| (r.len() as i64).to_le_bytes())
            .collect();
        let at = |name: &str| {
            entries
                .iter()
                .find(|e| e.name == name)
                .map_or(0, |e| e.start)
        };
        file.write_all_at(&tokens, base + at("tokens"))?;
        file.write_all_at(&lengths, base + at("lengths"))?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &req.out)
        .with_context(|| format!("moving {} to {}", partial.display(), req.out.display()))?;
    Ok(Written {
        hooks,
        bytes: total,
        prompts: n,
        positions,
    })
}

/// `rows` right-padded with `pad` to `positions` each, flattened.
fn padded(rows: &[Vec<u32>], positions: usize, pad: u32) -> Vec<u32> {
    rows.iter()
        .flat_map(|r| {
            r.iter()
                .copied()
                .chain(std::iter::repeat(pad))
                .take(positions)
        })
        .collect()
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// A cache file read back: its header's metadata and every tensor by name.
pub fn read(
    path: &Path,
    device: &Device,
) -> anyhow::Result<(BTreeMap<String, String>, BTreeMap<String, Tensor>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, meta) = assay_sdk::safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a safetensors file: {e}", path.display()))?;
    let metadata: BTreeMap<String, String> = meta
        .metadata()
        .clone()
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        bail!(
            "{}: not an assay activation cache (no format {FORMAT} in its header)",
            path.display()
        );
    }
    let tensors = assay_sdk::candle::safetensors::load_buffer(&bytes, device)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((metadata, tensors.into_iter().collect()))
}
