//! Building a component from given values, for plugin tests and tools (each resolves the given
//! values against the declarations and calls the factory).

use candle_core::Var;

use super::{AgentContext, BuildContext, Component, Factory, Kind, ModelContext};
use crate::agent::Agent;
use crate::dataset::Dataset;
use crate::environment::Environment;
use crate::error::Result;
use crate::model::Model;
use crate::online::OnlineProblem;
use crate::optimizer::{Optimizer, Parameter};
use crate::probe::Probe;
use crate::prune::Pruner;
use crate::solver::Solver;

/// Building a component from given values, for plugin tests and tools: each resolves `given`
/// against the declarations (defaults filled, unknown keys refused, as
/// [`Component::resolve`]) and calls the factory, or says that the component is of another
/// kind.
impl Component {
    fn wrong_kind(&self, wanted: Kind) -> crate::PluginError {
        crate::PluginError::invalid(format!(
            "`{}` is a {}, not a {wanted}",
            self.name,
            self.kind()
        ))
    }

    /// Builds an optimizer over `parameters` (named variables, each with its inferred role and
    /// full weight decay: [`Parameter::new`]).
    pub fn build_optimizer(
        &self,
        given: &[(&str, crate::Value)],
        parameters: Vec<(String, Var)>,
    ) -> Result<Box<dyn Optimizer>> {
        let parameters = parameters
            .into_iter()
            .map(|(name, var)| Parameter::new(name, var))
            .collect();
        match &self.factory {
            Factory::Optimizer(f) => f(&self.resolve(given)?, parameters),
            _ => Err(self.wrong_kind(Kind::Optimizer)),
        }
    }

    /// Builds the optimizer's host-memory rule for `dim` numbers in `precision`, if the
    /// component offers one.
    pub fn build_host_optimizer(
        &self,
        given: &[(&str, crate::Value)],
        dim: usize,
        precision: crate::online::Precision,
    ) -> Result<Box<dyn crate::online::HostOptimizer>> {
        match &self.host_optimizer {
            Some(f) => (f.0)(&self.resolve(given)?, dim, precision),
            None => Err(crate::PluginError::invalid(format!(
                "optimizer `{}` offers no host-memory rule",
                self.name
            ))),
        }
    }

    /// Builds a model for the data described in `cx`.
    pub fn build_model(
        &self,
        given: &[(&str, crate::Value)],
        cx: &ModelContext,
    ) -> Result<Box<dyn Model>> {
        match &self.factory {
            Factory::Model(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Model)),
        }
    }

    /// Builds a dataset.
    pub fn build_dataset(
        &self,
        given: &[(&str, crate::Value)],
        cx: &BuildContext,
    ) -> Result<Box<dyn Dataset>> {
        match &self.factory {
            Factory::Dataset(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Dataset)),
        }
    }

    /// Builds a probe.
    pub fn build_probe(
        &self,
        given: &[(&str, crate::Value)],
        cx: &BuildContext,
    ) -> Result<Box<dyn Probe>> {
        match &self.factory {
            Factory::Probe(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Probe)),
        }
    }

    /// Builds an environment.
    pub fn build_environment(
        &self,
        given: &[(&str, crate::Value)],
        cx: &BuildContext,
    ) -> Result<Box<dyn Environment>> {
        match &self.factory {
            Factory::Environment(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Environment)),
        }
    }

    /// Builds a pruner.
    pub fn build_pruner(
        &self,
        given: &[(&str, crate::Value)],
        cx: &BuildContext,
    ) -> Result<Box<dyn Pruner>> {
        match &self.factory {
            Factory::Pruner(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Pruner)),
        }
    }
}

impl Component {
    /// Builds an online problem.
    pub fn build_problem(
        &self,
        given: &[(&str, crate::Value)],
        cx: &BuildContext,
    ) -> Result<Box<dyn OnlineProblem>> {
        match &self.factory {
            Factory::Problem(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Problem)),
        }
    }

    /// Builds an agent.
    pub fn build_agent(
        &self,
        given: &[(&str, crate::Value)],
        cx: &AgentContext,
    ) -> Result<Box<dyn Agent>> {
        match &self.factory {
            Factory::Agent(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Agent)),
        }
    }

    /// Builds a solver.
    pub fn build_solver(
        &self,
        given: &[(&str, crate::Value)],
        cx: &BuildContext,
    ) -> Result<Box<dyn Solver>> {
        match &self.factory {
            Factory::Solver(f) => f(&self.resolve(given)?, cx),
            _ => Err(self.wrong_kind(Kind::Solver)),
        }
    }
}
