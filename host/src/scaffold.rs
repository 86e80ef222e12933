//! Plugin crates outside the host's checkout: `assay new-plugin` creates one that builds against
//! this host's SDK distribution and passes its own test out of the box; `assay plugins build`
//! points an existing crate at the distribution and builds it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use assay_sdk::Kind;

use crate::distribution::Distribution;

fn component_source(kind: Kind, name: &str) -> String {
    let body = match kind {
        Kind::Optimizer => {
            r#"/// Plain gradient descent: `w <- w - lr * g`.
struct Descent {
    params: Vec<Parameter>,
    lr: f64,
}

impl Optimizer for Descent {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        for p in &self.params {
            if let Some(g) = grads.get(&p.var) {
                p.var.set(&(p.var.as_tensor() - (g * (self.lr * lr_scale))?)?)?;
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

/// The parameters: declared once, read back typed (`assay plugins info NAME` shows the docs).
#[derive(Debug, Params)]
struct DescentParams {
    /// Step size.
    #[param(default = 0.1, min = 0.0)]
    lr: f64,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer_with("NAME", "0.1.0", |p: DescentParams, params| {
            Ok(Box::new(Descent { params, lr: p.lr }))
        })
        .summary("gradient descent"),
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

/// The parameters: declared once, read back typed (`assay plugins info NAME` shows the docs).
#[derive(Debug, Params)]
struct LinearParams {
    /// Initial weights are uniform in ±scale/sqrt(inputs).
    #[param(default = 1.0, min = 0.0)]
    init_scale: f32,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model_with("NAME", "0.1.0", |p: LinearParams, cx| {
            let inputs: usize = cx.data.input_shape.iter().product();
            let outputs = cx.data.objective.outputs();
            let mut rng = cx.build.rng("NAME");
            let scale = p.init_scale / (inputs as f32).sqrt();
            let w = init::uniform(&mut rng, &[inputs, outputs], -scale, scale, &cx.build.device)?;
            let b = Tensor::zeros(outputs, DType::F32, &cx.build.device)?;
            Ok(Box::new(Linear { w: Var::from_tensor(&w)?, b: Var::from_tensor(&b)? }))
        })
        .summary("a linear model"),
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

/// The parameters: declared once, read back typed (`assay plugins info NAME` shows the docs).
#[derive(Debug, Params)]
struct SignOfSumParams {
    /// Number of points.
    #[param(default = 500, min = 10)]
    examples: usize,
    /// Dimensions.
    #[param(default = 4, min = 1)]
    dim: usize,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset_with("NAME", "0.1.0", |p: SignOfSumParams, cx| {
            use assay_sdk::rand::Rng as _;
            let (n, dim) = (p.examples, p.dim);
            let mut rng = cx.rng("NAME");
            let x: Vec<f32> = (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let y = x.chunks(dim).map(|c| u32::from(c.iter().sum::<f32>() > 0.0)).collect();
            Ok(Box::new(SignOfSum { x, y, dim, train: n * 4 / 5 }))
        })
        .summary("points labelled by the sign of their coordinate sum"),
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

/// The parameters: declared once, read back typed (`assay plugins info NAME` shows the docs).
#[derive(Debug, Params)]
struct CorridorParams {
    /// Where the reward is.
    #[param(default = 3, min = 1)]
    goal: i64,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::environment_with("NAME", "0.1.0", |p: CorridorParams, _cx| {
            Ok(Box::new(Corridor { pos: 0, goal: p.goal }))
        })
        .summary("a one-dimensional corridor"),
    );
}
"#
        }
        Kind::Problem => {
            r#"/// f_t(θ) = ½‖θ − c‖²: the simplest online problem, on the box [−1, 1]^d.
struct Quadratic {
    centre: f64,
    dim: usize,
}

impl OnlineProblem for Quadratic {
    fn start(&mut self, _seed: u64) -> Result<Vec<f64>> {
        Ok(vec![0.0; self.dim])
    }
    fn round(&mut self, theta: &mut [f64], grad: &mut [f64]) -> Result<f64> {
        let mut loss = 0.0;
        for (x, g) in theta.iter_mut().zip(grad.iter_mut()) {
            *x = x.clamp(-1.0, 1.0);
            *g = *x - self.centre;
            loss += 0.5 * *g * *g;
        }
        Ok(loss)
    }
}

/// The parameters: declared once, read back typed (`assay plugins info NAME` shows the docs).
#[derive(Debug, Params)]
struct QuadraticParams {
    /// Where the loss is smallest (every coordinate).
    #[param(default = 0.5, range = (-1.0, 1.0))]
    centre: f64,
    /// Dimension.
    #[param(default = 1, min = 1)]
    dim: usize,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::problem_with("NAME", "0.1.0", |p: QuadraticParams, _cx| {
            Ok(Box::new(Quadratic { centre: p.centre, dim: p.dim }))
        })
        .summary("a quadratic on a box"),
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
        Kind::Agent => {
            r#"/// Raises when it may, calls or checks otherwise: plays the legal action listed first
/// among its preferences.
struct Preference {
    order: Vec<usize>,
}

impl Agent for Preference {
    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        let choice = self
            .order
            .iter()
            .find(|a| step.legal_actions.contains(a))
            .or(step.legal_actions.first())
            .ok_or_else(|| PluginError::invalid("NAME: no legal action"))?;
        Ok(Action::Discrete(*choice))
    }
}

/// The parameters: declared once, read back typed (`assay plugins info NAME` shows the docs).
#[derive(Debug, Params)]
struct PreferenceParams {
    /// Actions in the order of preference.
    #[param(default = [1, 0, 3, 2])]
    order: Vec<usize>,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::agent_with("NAME", "0.1.0", |p: PreferenceParams, _cx| {
            Ok(Box::new(Preference { order: p.order }))
        })
        .summary("plays its most preferred legal action"),
    );
}
"#
        }
        Kind::Solver => {
            r#"/// The running mean of a stream of seeded numbers: the simplest iterative computation.
struct RunningMean {
    state: u64,
    n: u64,
    mean: f64,
}

impl Solver for RunningMean {
    fn iterate(&mut self) -> Result<()> {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let x = (self.state >> 11) as f64 / (1u64 << 53) as f64;
        self.n += 1;
        self.mean += (x - self.mean) / self.n as f64;
        Ok(())
    }
    fn evaluate(&mut self, _iteration: u64, _is_final: bool) -> Result<Observation> {
        Ok(Observation::default().metric("mean", self.mean))
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        let mut out = self.state.to_le_bytes().to_vec();
        out.extend(self.n.to_le_bytes());
        out.extend(self.mean.to_le_bytes());
        Ok(out)
    }
    fn load_state(&mut self, s: &[u8]) -> Result<()> {
        let word = |i: usize| -> Result<[u8; 8]> {
            s.get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| PluginError::invalid("NAME: state is not 24 bytes"))
        };
        self.state = u64::from_le_bytes(word(0)?);
        self.n = u64::from_le_bytes(word(1)?);
        self.mean = f64::from_le_bytes(word(2)?);
        Ok(())
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::solver("NAME", "0.1.0", |_p, cx| {
            Ok(Box::new(RunningMean { state: cx.seed, n: 0, mean: 0.0 }))
        })
        .summary("the running mean of uniform numbers (tends to 0.5)"),
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

/// The dependency line that makes a crate use `dist`'s SDK.
fn dependency_line(dist: &Distribution) -> String {
    format!(
        "assay-sdk = {{ package = \"assay-sdk-link\", path = \"{}\" }}",
        dist.link_crate().display()
    )
}

/// `.cargo/config.toml` of a plugin crate for `dist`.
fn cargo_config(dist: &Distribution) -> String {
    format!(
        "# Written by assay for the SDK distribution {dir}.\n\
         # -C prefer-dynamic: link libstd and libassay_sdk dynamically, like the host, so that a\n\
         # process holds one copy of each. The rpath lets this crate's own test binaries find them.\n\
         [build]\n\
         rustflags = [\"-C\", \"prefer-dynamic\", \"-C\", \"link-args=-Wl,-rpath,{dir}:{std}\"]\n\
         rustdocflags = [\"-C\", \"prefer-dynamic\"]\n",
        dir = dist.dir.display(),
        std = dist.std_dir.display()
    )
}

/// Points the crate at `root` to `dist`: rewrites its `assay-sdk` dependency and its
/// `.cargo/config.toml`. Returns whether anything changed.
pub fn configure(root: &Path, dist: &Distribution) -> anyhow::Result<bool> {
    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let line = dependency_line(dist);
    let mut found = false;
    let rewritten: Vec<String> = manifest
        .lines()
        .map(|l| {
            let key = l.trim_start();
            if key.starts_with("assay-sdk ") || key.starts_with("assay-sdk=") {
                found = true;
                line.clone()
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        bail!(
            "{}: no `assay-sdk` dependency; add `{line}` under [dependencies]",
            manifest_path.display()
        );
    }
    let rewritten = rewritten.join("\n") + "\n";
    let config_path = root.join(".cargo/config.toml");
    let config = cargo_config(dist);
    let old_config = std::fs::read_to_string(&config_path).unwrap_or_default();
    let changed = rewritten != manifest || config != old_config;
    if rewritten != manifest {
        std::fs::write(&manifest_path, rewritten)
            .with_context(|| format!("writing {}", manifest_path.display()))?;
    }
    if config != old_config {
        std::fs::create_dir_all(root.join(".cargo"))
            .with_context(|| format!("creating {}", root.join(".cargo").display()))?;
        std::fs::write(&config_path, config)
            .with_context(|| format!("writing {}", config_path.display()))?;
    }
    Ok(changed)
}

/// The library file name cargo gives the crate at `root` (`lib<crate>.so`).
fn library_name(root: &Path) -> anyhow::Result<String> {
    let manifest_path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", manifest_path.display()))?;
    let lib_name = manifest
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str());
    let package = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    match lib_name.or(package) {
        Some(name) => Ok(format!("lib{}.so", name.replace('-', "_"))),
        None => bail!("{}: no [package] name", manifest_path.display()),
    }
}

/// Builds the plugin crate at `root` against `dist` with its own cargo, in its own directory,
/// and returns the library's path.
pub fn build(root: &Path, dist: &Distribution, release: bool) -> anyhow::Result<PathBuf> {
    let root = root
        .canonicalize()
        .with_context(|| format!("plugin crate {}", root.display()))?;
    if configure(&root, dist)? {
        eprintln!(
            "pointed {} at the SDK distribution {}",
            root.display(),
            dist.dir.display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root).args(["build", "--lib"]);
    if release {
        cmd.arg("--release");
    }
    // Settings of an outer cargo (when assay itself runs under `cargo run` or `cargo test`)
    // must not leak into the plugin's own build.
    for key in [
        "CARGO_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET_DIR",
    ] {
        cmd.env_remove(key);
    }
    let status = cmd.status().with_context(|| {
        format!(
            "running {} in {}",
            Path::new(&cargo).display(),
            root.display()
        )
    })?;
    if !status.success() {
        bail!(
            "cargo build failed in {} (its messages are above)",
            root.display()
        );
    }
    let library = root
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join(library_name(&root)?);
    if !library.is_file() {
        bail!(
            "cargo built {} but {} is missing: the crate needs `crate-type = [\"cdylib\"]` (or [\"rlib\", \"cdylib\"]) under [lib]",
            root.display(),
            library.display()
        );
    }
    Ok(library)
}

/// Creates `dir/name`, a standalone crate (its own workspace and lock file) that builds against
/// `dist`, and returns its path.
pub fn new_plugin(
    name: &str,
    kind: Kind,
    dir: &Path,
    dist: &Distribution,
) -> anyhow::Result<PathBuf> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        bail!("plugin name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let manifest = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"

[lib]
# cdylib: the library the host loads through registry.toml; rlib: for this crate's own tests.
crate-type = ["rlib", "cdylib"]

[dependencies]
# The SDK, through the distribution of the host that created this crate. `assay plugins build .`
# rewrites this line for the host that runs it.
{line}

# A crate of its own, not part of any other workspace.
[workspace]
"#,
        line = dependency_line(dist)
    );
    std::fs::create_dir_all(root.join("src"))
        .with_context(|| format!("creating {}", root.display()))?;
    std::fs::write(root.join("Cargo.toml"), manifest)?;
    std::fs::write(root.join(".gitignore"), "/target\n")?;
    std::fs::write(root.join("src/lib.rs"), component_source(kind, name))?;
    configure(&root, dist)?;
    let lib = name.replace('-', "_");
    std::fs::write(
        root.join("README.md"),
        format!(
            "# {name}\n\n\
             An assay {kind} plugin, created by `assay new-plugin` in {root}.\n\n\
             - `cargo test` runs its own check (the SDK's conformance kit).\n\
             - `assay plugins build .` builds `target/debug/lib{lib}.so` against the SDK of the `assay` \
             that runs it (rewriting the `assay-sdk` line of `Cargo.toml` and `.cargo/config.toml` if \
             that host uses another SDK build) and checks that the host can load it. Plain \
             `cargo build` does the same for the host that created the crate.\n\
             - To load it, add to the host's `registry.toml`:\n\n\
             ```toml\n[[library]]\npath = \"{root}/target/debug/lib{lib}.so\"\n```\n\n\
             Add dependencies of your own as usual: the SDK and candle come compiled from the \
             distribution, so your dependency graph never changes them.\n\n\
             Loading a library runs its code: the registry is the trust boundary.\n",
            root = root.display()
        ),
    )?;
    Ok(root)
}
