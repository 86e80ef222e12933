//! Components, their kinds, and the [`Registrar`] through which a library offers them.

use std::fmt;
use std::sync::Arc;

use candle_core::Device;

use crate::agent::Agent;
use crate::dataset::{DataInfo, Dataset};
use crate::environment::Environment;
use crate::error::Result;
use crate::metrics::Table;
use crate::model::Model;
use crate::online::OnlineProblem;
use crate::optimizer::{Optimizer, Parameter};
use crate::params::{Param, Params};
use crate::probe::Probe;
use crate::prune::Pruner;
use crate::solver::Solver;

mod build;

/// The nine kinds of component a plugin can provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Updates parameters from gradients ([`Optimizer`]).
    Optimizer,
    /// A differentiable function with named parameters and hook points ([`Model`]).
    Model,
    /// Examples split into train and test ([`Dataset`]).
    Dataset,
    /// Measures a model during or after training ([`Probe`]).
    Probe,
    /// An interactive task: a game or a simulator ([`Environment`]).
    Environment,
    /// Scores weights for pruning ([`Pruner`]).
    Pruner,
    /// An online optimisation problem driven by an optimizer's host-memory rule
    /// ([`OnlineProblem`]).
    Problem,
    /// A player in an environment's episodes ([`Agent`]).
    Agent,
    /// Iterative offline computation, such as a game solver ([`Solver`]).
    Solver,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 9] = [
        Kind::Optimizer,
        Kind::Model,
        Kind::Dataset,
        Kind::Probe,
        Kind::Environment,
        Kind::Pruner,
        Kind::Problem,
        Kind::Agent,
        Kind::Solver,
    ];

    /// The lower-case name used in specs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Optimizer => "optimizer",
            Kind::Model => "model",
            Kind::Dataset => "dataset",
            Kind::Probe => "probe",
            Kind::Environment => "environment",
            Kind::Pruner => "pruner",
            Kind::Problem => "problem",
            Kind::Agent => "agent",
            Kind::Solver => "solver",
        }
    }

    /// Parses [`Kind::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every factory may use: the run's seed and device.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The run's seed; derive generators from it with [`BuildContext::rng`].
    pub seed: u64,
    /// Where tensors should live.
    pub device: Device,
}

impl BuildContext {
    /// A generator seeded from the run seed and `stream`, so that two components (or two uses in
    /// one component) draw independent, reproducible numbers.
    pub fn rng(&self, stream: &str) -> crate::init::Rng {
        crate::init::rng(self.seed, stream)
    }
}

/// What a model factory gets besides its parameters.
#[derive(Debug, Clone)]
pub struct ModelContext {
    /// Seed and device.
    pub build: BuildContext,
    /// Shapes and objective of the dataset the model will be trained on.
    pub data: DataInfo,
}

/// A text model shared with an agent: the trained model of the run its spec names with `from`
/// (with that run's tokenizer), loaded by the host.
pub type SharedTextModel = Arc<std::sync::Mutex<dyn crate::backend::TextModel + Send>>;

/// A trained model shared with an agent: the model of the run its spec names with `from`, with
/// that run's final weights, rebuilt by the host from the run's `[model]` table; `data` is the
/// dataset description it was trained on (input shape and objective).
#[derive(Clone)]
pub struct SharedModel {
    /// The model. Lock it for a forward pass; agents of one run may share it.
    pub model: Arc<std::sync::Mutex<dyn Model + Send>>,
    /// Shapes and objective of the data it was trained on.
    pub data: DataInfo,
    /// Where its tensors live.
    pub device: Device,
}

impl fmt::Debug for SharedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedModel")
            .field("data", &self.data)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// What an agent factory gets besides its parameters.
#[derive(Clone)]
pub struct AgentContext {
    /// The run's seed and device.
    pub build: BuildContext,
    /// How many seats the environment has.
    pub seats: usize,
    /// The agent's position in the spec's `[[agent]]` list (0-based). With seat swapping the
    /// seat it plays changes from episode to episode; [`EpisodeStart::seat`](crate::EpisodeStart::seat) says which.
    pub index: usize,
    /// The tables of the run named by the agent's `from = "run:ID"` (for example the policy
    /// table of a solver run), empty without `from`.
    pub source: Vec<Table>,
    /// The id of that run, if any.
    pub source_run: Option<String>,
    /// When that run trained a model with a tokenizer: the model, as a text model (greedy or
    /// sampled continuations on the CPU), so that language agents can play with it.
    pub text_model: Option<SharedTextModel>,
    /// When that run trained a model: the model itself, for agents that compute their actions
    /// with it (a behaviour-cloned policy, for example).
    pub model: Option<SharedModel>,
}

impl fmt::Debug for AgentContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentContext")
            .field("build", &self.build)
            .field("seats", &self.seats)
            .field("index", &self.index)
            .field(
                "source",
                &self.source.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .field("source_run", &self.source_run)
            .field(
                "text_model",
                &self.text_model.as_ref().map(|_| "<text model>"),
            )
            .field("model", &self.model)
            .finish()
    }
}

impl AgentContext {
    /// The table `name` of the source run, or an error naming the run and the tables it has.
    pub fn source_table(&self, name: &str) -> Result<&Table> {
        let Some(run) = &self.source_run else {
            return Err(crate::PluginError::param(
                "from",
                format!(
                    "this agent needs a source run with a `{name}` table: set `from = \"run:ID\"`"
                ),
            ));
        };
        self.source.iter().find(|t| t.name == name).ok_or_else(|| {
            let have: Vec<&str> = self.source.iter().map(|t| t.name.as_str()).collect();
            crate::PluginError::param(
                "from",
                format!(
                    "run {run} has no table `{name}` (it has: {})",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                ),
            )
        })
    }
}

/// Builds an optimizer over the given parameters.
pub type OptimizerFactory =
    Arc<dyn Fn(&Params, Vec<Parameter>) -> Result<Box<dyn Optimizer>> + Send + Sync>;
/// Builds a model for the dataset described in the context.
pub type ModelFactory = Arc<dyn Fn(&Params, &ModelContext) -> Result<Box<dyn Model>> + Send + Sync>;
/// Builds a dataset.
pub type DatasetFactory =
    Arc<dyn Fn(&Params, &BuildContext) -> Result<Box<dyn Dataset>> + Send + Sync>;
/// Builds a probe.
pub type ProbeFactory = Arc<dyn Fn(&Params, &BuildContext) -> Result<Box<dyn Probe>> + Send + Sync>;
/// Builds an environment.
pub type EnvironmentFactory =
    Arc<dyn Fn(&Params, &BuildContext) -> Result<Box<dyn Environment>> + Send + Sync>;

/// Builds a pruner.
pub type PrunerFactory =
    Arc<dyn Fn(&Params, &BuildContext) -> Result<Box<dyn Pruner>> + Send + Sync>;

/// Builds an online problem.
pub type ProblemFactory =
    Arc<dyn Fn(&Params, &BuildContext) -> Result<Box<dyn OnlineProblem>> + Send + Sync>;

/// Builds an agent for one seat of an environment.
pub type AgentFactory = Arc<dyn Fn(&Params, &AgentContext) -> Result<Box<dyn Agent>> + Send + Sync>;

/// Builds a solver.
pub type SolverFactory =
    Arc<dyn Fn(&Params, &BuildContext) -> Result<Box<dyn Solver>> + Send + Sync>;

/// A factory of one of the nine kinds.
#[derive(Clone)]
pub enum Factory {
    /// See [`OptimizerFactory`].
    Optimizer(OptimizerFactory),
    /// See [`ModelFactory`].
    Model(ModelFactory),
    /// See [`DatasetFactory`].
    Dataset(DatasetFactory),
    /// See [`ProbeFactory`].
    Probe(ProbeFactory),
    /// See [`EnvironmentFactory`].
    Environment(EnvironmentFactory),
    /// See [`PrunerFactory`].
    Pruner(PrunerFactory),
    /// See [`ProblemFactory`].
    Problem(ProblemFactory),
    /// See [`AgentFactory`].
    Agent(AgentFactory),
    /// See [`SolverFactory`].
    Solver(SolverFactory),
}

impl Factory {
    /// The kind of component this factory builds.
    pub fn kind(&self) -> Kind {
        match self {
            Factory::Optimizer(_) => Kind::Optimizer,
            Factory::Model(_) => Kind::Model,
            Factory::Dataset(_) => Kind::Dataset,
            Factory::Probe(_) => Kind::Probe,
            Factory::Environment(_) => Kind::Environment,
            Factory::Pruner(_) => Kind::Pruner,
            Factory::Problem(_) => Kind::Problem,
            Factory::Agent(_) => Kind::Agent,
            Factory::Solver(_) => Kind::Solver,
        }
    }
}

impl fmt::Debug for Factory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Factory::{:?}", self.kind())
    }
}

/// A named, versioned component: its declaration and its factory.
///
/// Names are unique per kind across everything the host loads; use lower-case names from the
/// domain (`adopt`, `fourier_frequency_sparsity`). Versions are semver strings; they enter the
/// run id, so bump them whenever the component's results change.
#[derive(Debug, Clone)]
pub struct Component {
    /// Unique name within its kind.
    pub name: String,
    /// Semver version of the component's behaviour.
    pub version: String,
    /// One line for `assay plugins list`.
    pub summary: String,
    /// Every parameter the component accepts.
    pub params: Vec<Param>,
    /// Builds instances.
    pub factory: Factory,
    /// For optimizers: the same rule on host vectors, if the component offers it.
    pub host_optimizer: Option<crate::online::HostOptimizerFactory>,
}

impl Component {
    fn new(name: &str, version: &str, factory: Factory) -> Self {
        Component {
            name: name.to_string(),
            version: version.to_string(),
            summary: String::new(),
            params: Vec::new(),
            factory,
            host_optimizer: None,
        }
    }

    /// An optimizer component.
    pub fn optimizer(
        name: &str,
        version: &str,
        f: impl Fn(&Params, Vec<Parameter>) -> Result<Box<dyn Optimizer>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Optimizer(Arc::new(f)))
    }

    /// A model component.
    pub fn model(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &ModelContext) -> Result<Box<dyn Model>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Model(Arc::new(f)))
    }

    /// A dataset component.
    pub fn dataset(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &BuildContext) -> Result<Box<dyn Dataset>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Dataset(Arc::new(f)))
    }

    /// A probe component.
    pub fn probe(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &BuildContext) -> Result<Box<dyn Probe>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Probe(Arc::new(f)))
    }

    /// An environment component.
    pub fn environment(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &BuildContext) -> Result<Box<dyn Environment>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Environment(Arc::new(f)))
    }

    /// A pruner component.
    pub fn pruner(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &BuildContext) -> Result<Box<dyn Pruner>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Pruner(Arc::new(f)))
    }

    /// Declares every parameter of `P` (see [`TypedParams`](crate::TypedParams)).
    pub fn params<P: crate::TypedParams>(mut self) -> Self {
        self.params.extend(P::declarations());
        self
    }

    /// An optimizer component whose parameters are the struct `P`: declared from it and handed
    /// to the factory as a `P`.
    pub fn optimizer_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, Vec<Parameter>) -> Result<Box<dyn Optimizer>> + Send + Sync + 'static,
    ) -> Self {
        Self::optimizer(name, version, move |p, vars| f(P::from_params(p)?, vars)).params::<P>()
    }

    /// A model component with typed parameters (see [`Component::optimizer_with`]).
    pub fn model_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &ModelContext) -> Result<Box<dyn Model>> + Send + Sync + 'static,
    ) -> Self {
        Self::model(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// A dataset component with typed parameters (see [`Component::optimizer_with`]).
    pub fn dataset_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &BuildContext) -> Result<Box<dyn Dataset>> + Send + Sync + 'static,
    ) -> Self {
        Self::dataset(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// A probe component with typed parameters (see [`Component::optimizer_with`]).
    pub fn probe_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &BuildContext) -> Result<Box<dyn Probe>> + Send + Sync + 'static,
    ) -> Self {
        Self::probe(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// An environment component with typed parameters (see [`Component::optimizer_with`]).
    pub fn environment_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &BuildContext) -> Result<Box<dyn Environment>> + Send + Sync + 'static,
    ) -> Self {
        Self::environment(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// A pruner component with typed parameters (see [`Component::optimizer_with`]).
    pub fn pruner_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &BuildContext) -> Result<Box<dyn Pruner>> + Send + Sync + 'static,
    ) -> Self {
        Self::pruner(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// An online problem component.
    pub fn problem(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &BuildContext) -> Result<Box<dyn OnlineProblem>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Problem(Arc::new(f)))
    }

    /// An online problem component with typed parameters (see [`Component::optimizer_with`]).
    pub fn problem_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &BuildContext) -> Result<Box<dyn OnlineProblem>> + Send + Sync + 'static,
    ) -> Self {
        Self::problem(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// An agent component.
    pub fn agent(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &AgentContext) -> Result<Box<dyn Agent>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Agent(Arc::new(f)))
    }

    /// An agent component with typed parameters (see [`Component::optimizer_with`]).
    pub fn agent_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &AgentContext) -> Result<Box<dyn Agent>> + Send + Sync + 'static,
    ) -> Self {
        Self::agent(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// A solver component.
    pub fn solver(
        name: &str,
        version: &str,
        f: impl Fn(&Params, &BuildContext) -> Result<Box<dyn Solver>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, version, Factory::Solver(Arc::new(f)))
    }

    /// A solver component with typed parameters (see [`Component::optimizer_with`]).
    pub fn solver_with<P: crate::TypedParams + 'static>(
        name: &str,
        version: &str,
        f: impl Fn(P, &BuildContext) -> Result<Box<dyn Solver>> + Send + Sync + 'static,
    ) -> Self {
        Self::solver(name, version, move |p, cx| f(P::from_params(p)?, cx)).params::<P>()
    }

    /// Sets the one-line summary.
    pub fn summary(mut self, summary: &str) -> Self {
        self.summary = summary.to_string();
        self
    }

    /// Offers a host-memory implementation of an optimizer's rule for online problems (see
    /// [`HostOptimizer`](crate::online::HostOptimizer)): `f` builds it for a dimension and a
    /// precision.
    pub fn host_optimizer(
        mut self,
        f: impl Fn(
                &Params,
                usize,
                crate::online::Precision,
            ) -> Result<Box<dyn crate::online::HostOptimizer>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.host_optimizer = Some(crate::online::HostOptimizerFactory(Arc::new(f)));
        self
    }

    /// Declares a parameter.
    pub fn param(mut self, param: Param) -> Self {
        self.params.push(param);
        self
    }

    /// The component's kind.
    pub fn kind(&self) -> Kind {
        self.factory.kind()
    }

    /// Fills defaults into `given` and checks it against the declarations, without a spec file:
    /// handy in plugin tests. The host resolves specs with the same function,
    /// [`params::resolve`](crate::params::resolve), adding file and key to its messages.
    pub fn resolve(&self, given: &[(&str, crate::Value)]) -> Result<Params> {
        crate::params::resolve(&self.params, given)
            .map_err(|issue| crate::PluginError::param(issue.key(), issue.to_string()))
    }
}

/// Where a library registers its components. The host implements it; a library's `register`
/// function (named in [`export_plugin!`](crate::export_plugin)) calls [`Registrar::add`] once per
/// component.
pub trait Registrar {
    /// Offers one component.
    fn add(&mut self, component: Component);
}

impl Registrar for Vec<Component> {
    fn add(&mut self, component: Component) {
        self.push(component);
    }
}
