//! Every call into plugin code goes through here: a panic inside a plugin becomes an error that
//! names the component and the call, and the host carries on.
//!
//! A guarded panic is reported once, as that error (one line, with the panic's location); its
//! backtrace goes to the log (`RUST_LOG=assay=debug`), not the terminal, unless
//! `RUST_BACKTRACE` asks for it. Panics outside guarded calls (the host's own bugs) print as
//! usual.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

use assay_sdk::candle::backprop::GradStore;
use assay_sdk::prelude::*;

thread_local! {
    /// How many guarded calls this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last guarded panic happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook that keeps guarded panics off the terminal. Call once, at start.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if DEPTH.with(Cell::get) == 0 {
            default(info);
            return;
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        tracing::debug!(
            target: "assay::guard",
            "plugin panic at {}:\n{}",
            location.as_deref().unwrap_or("an unknown location"),
            std::backtrace::Backtrace::force_capture()
        );
        LOCATION.with(|l| *l.borrow_mut() = location);
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default(info);
        }
    }));
}

/// Runs `f`, turning a panic into a [`PluginError`] that names `who` and `call`.
pub fn guard<T>(who: &str, call: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_string());
            let at = LOCATION
                .with(|l| l.borrow_mut().take())
                .map(|l| format!(" (at {l})"))
                .unwrap_or_default();
            Err(PluginError::invalid(format!(
                "{who} panicked in {call}: {msg}{at}"
            )))
        }
    }
}

/// An optimizer whose every call is guarded.
pub struct GuardedOptimizer {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn Optimizer>,
}

impl Optimizer for GuardedOptimizer {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Optimizer::step", || inner.step(grads, lr_scale))
    }
    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        guard(&self.who, "Optimizer::state", || self.inner.state())
    }
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Optimizer::load_state", || {
            inner.load_state(state)
        })
    }
}

/// An optimizer's host-memory rule whose every call is guarded.
pub struct GuardedHostOptimizer {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn HostOptimizer>,
}

impl HostOptimizer for GuardedHostOptimizer {
    fn step(&mut self, iterate: Iterate<'_>, lr_scale: f64) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "HostOptimizer::step", || {
            inner.step(iterate, lr_scale)
        })
    }
}

/// A model whose every call is guarded. Its parameters and hook points are read once, under the
/// guard, when it is built.
pub struct GuardedModel {
    who: String,
    inner: Box<dyn Model>,
    parameters: Vec<(String, Var)>,
    buffers: Vec<(String, Var)>,
    hook_points: Vec<String>,
    generative: bool,
}

impl GuardedModel {
    /// Wraps `inner`, reading its parameters and hook points.
    pub fn new(who: String, inner: Box<dyn Model>) -> Result<Self> {
        let parameters = guard(&who, "Model::parameters", || Ok(inner.parameters()))?;
        let buffers = guard(&who, "Model::buffers", || Ok(inner.buffers()))?;
        let hook_points = guard(&who, "Model::hook_points", || Ok(inner.hook_points()))?;
        let generative = guard(&who, "Model::generative", || {
            Ok(inner.generative().is_some())
        })?;
        Ok(GuardedModel {
            who,
            inner,
            parameters,
            buffers,
            hook_points,
            generative,
        })
    }
}

impl Model for GuardedModel {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        guard(&self.who, "Model::forward", || {
            self.inner.forward(input, hooks)
        })
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        self.parameters.clone()
    }
    fn buffers(&self) -> Vec<(String, Var)> {
        self.buffers.clone()
    }
    fn hook_points(&self) -> Vec<String> {
        self.hook_points.clone()
    }
    fn parameter_role(&self, name: &str, var: &Var) -> Role {
        guard(&self.who, "Model::parameter_role", || {
            Ok(self.inner.parameter_role(name, var))
        })
        .unwrap_or_else(|_| Role::infer(name, var.rank()))
    }
    fn set_training(&mut self, training: bool) {
        let inner = &mut self.inner;
        // A panic here is reported by the next guarded call, which fails the same way.
        let _ = guard(&self.who, "Model::set_training", || {
            inner.set_training(training);
            Ok(())
        });
    }
    fn generative(&self) -> Option<&dyn Generative> {
        self.generative.then_some(self as &dyn Generative)
    }
}

impl Generative for GuardedModel {
    fn tokenizer(&self) -> Option<std::sync::Arc<dyn assay_sdk::Tokenizer>> {
        guard(&self.who, "Generative::tokenizer", || {
            Ok(self.inner.generative().and_then(|g| g.tokenizer()))
        })
        .ok()
        .flatten()
    }
    fn context_length(&self) -> Option<usize> {
        guard(&self.who, "Generative::context_length", || {
            Ok(self.inner.generative().and_then(|g| g.context_length()))
        })
        .ok()
        .flatten()
    }
    fn forward_cached(&self, input: &Tensor, cache: &mut assay_sdk::KvCache) -> Result<Tensor> {
        guard(&self.who, "Generative::forward_cached", || {
            match self.inner.generative() {
                Some(g) => g.forward_cached(input, cache),
                None => Err(PluginError::invalid(format!(
                    "{} has no generation extension",
                    self.who
                ))),
            }
        })
    }
    fn forward_cached_with_hooks(
        &self,
        input: &Tensor,
        cache: &mut assay_sdk::KvCache,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        guard(
            &self.who,
            "Generative::forward_cached_with_hooks",
            || match self.inner.generative() {
                Some(g) => g.forward_cached_with_hooks(input, cache, hooks),
                None => Err(PluginError::invalid(format!(
                    "{} has no generation extension",
                    self.who
                ))),
            },
        )
    }
    fn readout(&self, resid: &Tensor) -> Result<Tensor> {
        guard(&self.who, "Generative::readout", || {
            match self.inner.generative() {
                Some(g) => g.readout(resid),
                None => Err(PluginError::invalid(format!(
                    "{} has no generation extension",
                    self.who
                ))),
            }
        })
    }
}

/// A dataset whose every call is guarded. Its description and sizes are read once, under the
/// guard, when it is built.
pub struct GuardedDataset {
    who: String,
    inner: Box<dyn Dataset>,
    info: DataInfo,
    train_len: usize,
    test_len: usize,
}

impl GuardedDataset {
    /// Wraps `inner`, reading its description and sizes.
    pub fn new(who: String, inner: Box<dyn Dataset>) -> Result<Self> {
        let info = guard(&who, "Dataset::info", || Ok(inner.info()))?;
        let train_len = guard(&who, "Dataset::len", || Ok(inner.len(Split::Train)))?;
        let test_len = guard(&who, "Dataset::len", || Ok(inner.len(Split::Test)))?;
        Ok(GuardedDataset {
            who,
            inner,
            info,
            train_len,
            test_len,
        })
    }
}

impl Dataset for GuardedDataset {
    fn info(&self) -> DataInfo {
        self.info.clone()
    }
    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train_len,
            Split::Test => self.test_len,
        }
    }
    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        guard(&self.who, "Dataset::batch", || {
            self.inner.batch(split, indices, device)
        })
    }
    fn tokenizer(&self) -> Option<std::sync::Arc<dyn assay_sdk::Tokenizer>> {
        guard(&self.who, "Dataset::tokenizer", || {
            Ok(self.inner.tokenizer())
        })
        .ok()
        .flatten()
    }
}

/// A probe whose every call is guarded.
pub struct GuardedProbe {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn Probe>,
}

impl Probe for GuardedProbe {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let inner = &mut self.inner;
        guard(&self.who, "Probe::observe", || inner.observe(cx))
    }
}

/// An environment whose every call is guarded.
pub struct GuardedEnvironment {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn Environment>,
}

impl Environment for GuardedEnvironment {
    fn reset(&mut self, seed: u64) -> Result<TimeStep> {
        let inner = &mut self.inner;
        guard(&self.who, "Environment::reset", || inner.reset(seed))
    }
    fn step(&mut self, action: &Action) -> Result<TimeStep> {
        let inner = &mut self.inner;
        guard(&self.who, "Environment::step", || inner.step(action))
    }
    fn players(&self) -> usize {
        let inner = &self.inner;
        guard(&self.who, "Environment::players", || Ok(inner.players())).unwrap_or(0)
    }
    fn forfeit(&mut self, player: usize) -> Result<TimeStep> {
        let inner = &mut self.inner;
        guard(&self.who, "Environment::forfeit", || inner.forfeit(player))
    }
    fn action_name(&self, action: usize) -> String {
        let inner = &self.inner;
        guard(&self.who, "Environment::action_name", || {
            Ok(inner.action_name(action))
        })
        .unwrap_or_else(|_| action.to_string())
    }
}

/// An agent whose every call is guarded: a panic becomes an error naming the agent, which the
/// episode loop records as a fault.
pub struct GuardedAgent {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn Agent>,
}

impl Agent for GuardedAgent {
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Agent::begin_episode", || {
            inner.begin_episode(start)
        })
    }
    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        let inner = &mut self.inner;
        guard(&self.who, "Agent::act", || inner.act(step))
    }
    fn end_episode(&mut self, last: &TimeStep) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Agent::end_episode", || inner.end_episode(last))
    }
    fn take_exchanges(&mut self) -> Vec<Exchange> {
        let inner = &mut self.inner;
        guard(&self.who, "Agent::take_exchanges", || {
            Ok(inner.take_exchanges())
        })
        .unwrap_or_default()
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        let inner = &self.inner;
        guard(&self.who, "Agent::save_state", || inner.save_state())
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Agent::load_state", || inner.load_state(state))
    }
}

/// A solver whose every call is guarded.
pub struct GuardedSolver {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn Solver>,
}

impl Solver for GuardedSolver {
    fn iterate(&mut self) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Solver::iterate", || inner.iterate())
    }
    fn evaluate(&mut self, iteration: u64, is_final: bool) -> Result<Observation> {
        let inner = &mut self.inner;
        guard(&self.who, "Solver::evaluate", || {
            inner.evaluate(iteration, is_final)
        })
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        let inner = &self.inner;
        guard(&self.who, "Solver::save_state", || inner.save_state())
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let inner = &mut self.inner;
        guard(&self.who, "Solver::load_state", || inner.load_state(state))
    }
}

/// An online problem whose every call is guarded.
pub struct GuardedProblem {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn OnlineProblem>,
}

impl OnlineProblem for GuardedProblem {
    fn start(&mut self, seed: u64) -> Result<Vec<f64>> {
        let inner = &mut self.inner;
        guard(&self.who, "OnlineProblem::start", || inner.start(seed))
    }
    fn round(&mut self, theta: &mut [f64], grad: &mut [f64]) -> Result<f64> {
        let inner = &mut self.inner;
        guard(&self.who, "OnlineProblem::round", || {
            inner.round(theta, grad)
        })
    }
}

/// A pruner whose every call is guarded.
pub struct GuardedPruner {
    pub(crate) who: String,
    pub(crate) inner: Box<dyn Pruner>,
}

impl Pruner for GuardedPruner {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let inner = &mut self.inner;
        let scores = guard(&self.who, "Pruner::scores", || inner.scores(cx))?;
        for (name, var) in &cx.parameters {
            match scores.iter().find(|(n, _)| n == name) {
                Some((_, s)) if s.dims() == var.dims() => {}
                Some((_, s)) => {
                    return Err(PluginError::invalid(format!(
                        "{} scored `{name}` with shape {:?}, but the parameter has {:?}",
                        self.who,
                        s.dims(),
                        var.dims()
                    )))
                }
                None => {
                    return Err(PluginError::invalid(format!(
                        "{} returned no scores for `{name}`",
                        self.who
                    )))
                }
            }
        }
        Ok(scores)
    }
}
