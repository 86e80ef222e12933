//! `assay new-plugin`: a crate that builds as a dynamic plugin against this SDK and passes its own
//! test out of the box.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use assay_sdk::Kind;

/// The host's source directory: `ASSAY_SOURCE`, else the checkout this binary was built from.
pub fn source_root() -> anyhow::Result<PathBuf> {
    let p = std::env::var_os("ASSAY_SOURCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let p = p.canonicalize().with_context(|| {
        format!("assay sources not found at {}; set ASSAY_SOURCE to the checkout this host was built from", p.display())
    })?;
    if !p.join("sdk/Cargo.toml").exists() || !p.join("local-plugins").is_dir() {
        bail!(
            "{} is not an assay checkout (no sdk/ and local-plugins/); set ASSAY_SOURCE",
            p.display()
        );
    }
    Ok(p)
}

/// Where `assay new-plugin` puts crates by default: the checkout's `local-plugins/`.
pub fn default_dir() -> anyhow::Result<PathBuf> {
    Ok(source_root()?.join("local-plugins"))
}

fn component_source(kind: Kind, name: &str) -> String {
    let body = match kind {
        Kind::Optimizer => {
            r#"/// Plain gradient descent: `w <- w - lr * g`.
struct Descent {
    params: Vec<(String, Var)>,
    lr: f64,
}

impl Optimizer for Descent {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        for (_, var) in &self.params {
            if let Some(g) = grads.get(var) {
                var.set(&(var.as_tensor() - (g * (self.lr * lr_scale))?)?)?;
            }
        }
        Ok(())
    }
    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(Vec::new())
    }
    fn load_state(&mut self, _state: &[(String, Tensor)]) -> Result<()> {
        Ok(())
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer("NAME", "0.1.0", |p, params| {
            Ok(Box::new(Descent { params, lr: p.f64("lr")? }))
        })
        .summary("gradient descent")
        .param(Param::float("lr", 0.1, "step size").min(0.0)),
    );
}
"#
        }
        Kind::Model => {
            r#"/// A linear map from the flattened input to the outputs.
struct Linear {
    w: Var,
    b: Var,
}

impl Model for Linear {
    fn forward(&self, x: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let x = x.flatten_from(1)?;
        let out = x.matmul(self.w.as_tensor())?.broadcast_add(self.b.as_tensor())?;
        hooks.point(hook_names::LOGITS, out)
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![("w".into(), self.w.clone()), ("b".into(), self.b.clone())]
    }
    fn hook_points(&self) -> Vec<String> {
        vec![hook_names::LOGITS.into()]
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model("NAME", "0.1.0", |p, cx| {
            let inputs: usize = cx.data.input_shape.iter().product();
            let outputs = cx.data.objective.outputs();
            let mut rng = cx.build.rng("NAME");
            let scale = p.f64("init_scale")? as f32 / (inputs as f32).sqrt();
            let w = init::uniform(&mut rng, &[inputs, outputs], -scale, scale, &cx.build.device)?;
            let b = Tensor::zeros(outputs, DType::F32, &cx.build.device)?;
            Ok(Box::new(Linear { w: Var::from_tensor(&w)?, b: Var::from_tensor(&b)? }))
        })
        .summary("a linear model")
        .param(Param::float("init_scale", 1.0, "initial weights are uniform in ±scale/sqrt(inputs)").min(0.0)),
    );
}
"#
        }
        Kind::Dataset => {
            r#"/// Points labelled by the sign of their coordinate sum.
struct SignOfSum {
    x: Vec<f32>,
    y: Vec<u32>,
    dim: usize,
    train: usize,
}

impl Dataset for SignOfSum {
    fn info(&self) -> DataInfo {
        DataInfo::features(vec![self.dim], Objective::Classification { classes: 2 })
    }
    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train,
            Split::Test => self.y.len() - self.train,
        }
    }
    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let offset = if split == Split::Train { 0 } else { self.train };
        let mut xs = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            xs.extend_from_slice(&self.x[(offset + i) * self.dim..(offset + i + 1) * self.dim]);
        }
        let ys: Vec<u32> = indices.iter().map(|&i| self.y[offset + i]).collect();
        Ok(Batch {
            input: Tensor::from_vec(xs, (indices.len(), self.dim), device)?,
            target: Tensor::from_vec(ys, indices.len(), device)?,
        })
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("NAME", "0.1.0", |p, cx| {
            use assay_sdk::rand::Rng as _;
            let (n, dim) = (p.usize("examples")?, p.usize("dim")?);
            let mut rng = cx.rng("NAME");
            let x: Vec<f32> = (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let y = x.chunks(dim).map(|c| u32::from(c.iter().sum::<f32>() > 0.0)).collect();
            Ok(Box::new(SignOfSum { x, y, dim, train: n * 4 / 5 }))
        })
        .summary("points labelled by the sign of their coordinate sum")
        .param(Param::int("examples", 500, "number of points").min(10.0))
        .param(Param::int("dim", 4, "dimensions").min(1.0)),
    );
}
"#
        }
        Kind::Probe => {
            r#"/// Counts the model's trainable numbers.
struct ParameterCount;

impl Probe for ParameterCount {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let n: usize = cx.model.parameters().iter().map(|(_, v)| v.elem_count()).sum();
        Ok(Observation::default().metric("NAME/parameters", n as f64))
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("NAME", "0.1.0", |_p, _cx| Ok(Box::new(ParameterCount)))
            .summary("number of trainable parameters"),
    );
}
"#
        }
        Kind::Environment => {
            r#"/// Walk from 0 to `goal` on a line; reward 1 on arrival.
struct Corridor {
    pos: i64,
    goal: i64,
}

impl Environment for Corridor {
    fn reset(&mut self, _seed: u64) -> Result<TimeStep> {
        self.pos = 0;
        Ok(TimeStep { observation: vec![0.0], rewards: vec![0.0], legal_actions: vec![0, 1], ..Default::default() })
    }
    fn step(&mut self, action: &Action) -> Result<TimeStep> {
        let Action::Discrete(a) = action else {
            return Err(PluginError::invalid("NAME takes discrete actions"));
        };
        self.pos += if *a == 1 { 1 } else { -1 };
        let done = self.pos == self.goal;
        Ok(TimeStep {
            observation: vec![self.pos as f32],
            rewards: vec![if done { 1.0 } else { 0.0 }],
            done,
            legal_actions: vec![0, 1],
            ..Default::default()
        })
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::environment("NAME", "0.1.0", |p, _cx| {
            Ok(Box::new(Corridor { pos: 0, goal: p.i64("goal")? }))
        })
        .summary("a one-dimensional corridor")
        .param(Param::int("goal", 3, "where the reward is").min(1.0)),
    );
}
"#
        }
        Kind::Pruner => {
            r#"/// Keeps the entries that moved least from zero: scores are -|theta|.
struct Smallest;

impl Pruner for Smallest {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        cx.parameters
            .iter()
            .map(|(name, v)| Ok((name.clone(), v.as_tensor().detach().abs()?.neg()?)))
            .collect()
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("NAME", "0.1.0", |_p, _cx| Ok(Box::new(Smallest)))
            .summary("keeps the smallest weights (an anti-magnitude control)"),
    );
}
"#
        }
    };
    let test = match kind {
        Kind::Optimizer => "assay_sdk::conformance::check_optimizer_state_roundtrip(&found[0], &[], &[&[3], &[2, 2]], 3).unwrap();",
        _ => "assert_eq!(found[0].kind(), Kind::KIND);",
    }
    .replace("KIND", &format!("{kind:?}"));
    format!(
        "//! `{name}`: an assay plugin.\n\nuse assay_sdk::prelude::*;\n\n{}\nassay_sdk::export_plugin!(register);\n\n#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    #[test]\n    fn declarations_are_valid() {{\n        let mut found = Vec::new();\n        register(&mut found);\n        assay_sdk::conformance::check_declarations(&found).unwrap();\n        {test}\n    }}\n}}\n",
        body.replace("NAME", &name.replace('-', "_"))
    )
}

/// Creates `dir/name` and returns its path. Inside the checkout's `local-plugins/` the crate is
/// a workspace member and builds a library the host loads; elsewhere it is a standalone crate
/// that tests itself but must be moved there to build a loadable library.
pub fn new_plugin(name: &str, kind: Kind, dir: &Path) -> anyhow::Result<PathBuf> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        bail!("plugin name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter");
    }
    let workspace = source_root()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let member = dir == workspace.join("local-plugins");
    let sdk = workspace.join("sdk");
    let standalone = if member {
        String::new()
    } else {
        "\n# Standalone: builds and tests on its own, but the host loads only libraries built in its\n# workspace. Move this directory into the assay checkout's local-plugins/ to build one.\n[workspace]\n".to_string()
    };
    let manifest = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"

[lib]
# rlib for tests, cdylib for loading through registry.toml.
crate-type = ["rlib", "cdylib"]

[dependencies]
assay-sdk = {{ path = "{sdk}" }}
{standalone}"#,
        sdk = sdk.display()
    );
    std::fs::create_dir_all(root.join("src"))
        .with_context(|| format!("creating {}", root.display()))?;
    std::fs::write(root.join("Cargo.toml"), manifest)?;
    if !member {
        std::fs::create_dir_all(root.join(".cargo"))?;
        std::fs::write(
            root.join(".cargo/config.toml"),
            "# Like the host: one dynamic libstd and libassay_sdk per process (see assay's sdk/README.md).\n[build]\nrustflags = [\"-C\", \"prefer-dynamic\"]\nrustdocflags = [\"-C\", \"prefer-dynamic\"]\n",
        )?;
    }
    std::fs::write(root.join("src/lib.rs"), component_source(kind, name))?;
    let lib = name.replace('-', "_");
    std::fs::write(
        root.join("README.md"),
        format!(
            "# {name}\n\nAn assay {kind} plugin.\n\n- `cargo test --workspace --lib declarations_are_valid` (from the assay checkout) runs its own check.\n- `cargo build --workspace` (or `--release --workspace`) makes `target/debug/lib{lib}.so`; `assay plugins check target/debug/lib{lib}.so` tells whether the host can load it, and a `[[library]]` entry in `registry.toml` loads it.\n- Build it together with the host, in the same workspace and profile: the host and every plugin link one build of `libassay_sdk` (see the checkout's `local-plugins/README.md`).\n\nLoading a library runs its code: the registry is the trust boundary.\n"
        ),
    )?;
    Ok(root)
}
