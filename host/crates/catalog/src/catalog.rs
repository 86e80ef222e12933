//! The catalog: every component the host can build, with where it came from.
//!
//! Built-in libraries are linked into the binary and found through `inventory`; dynamic libraries
//! are listed in `registry.toml` and loaded by [`crate::loader`]. Both register through the same
//! SDK call, so a built-in and an outside plugin are indistinguishable once loaded.

use std::fmt;
use std::path::PathBuf;

use assay_sdk::abi::PluginDeclaration;
use assay_sdk::prelude::*;
use assay_sdk::Factory;

use crate::guard::{
    guard, GuardedAgent, GuardedDataset, GuardedEnvironment, GuardedHostOptimizer, GuardedModel,
    GuardedOptimizer, GuardedProbe, GuardedProblem, GuardedPruner, GuardedSolver,
};

/// Where a component came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Linked into the host binary.
    Builtin,
    /// Loaded from a dynamic library.
    Library(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("builtin"),
            Origin::Library(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One component in the catalog.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The component as its library registered it.
    pub component: Component,
    /// Built-in or the library's path.
    pub origin: Origin,
    /// The crate that registered it.
    pub library: String,
    /// That crate's version.
    pub library_version: String,
}

impl Entry {
    /// `optimizer \`sgd\` (builtin assay_optim)`: how messages name the component.
    pub fn label(&self) -> String {
        format!(
            "{} `{}` ({} {})",
            self.component.kind(),
            self.component.name,
            self.origin,
            self.library
        )
    }
}

/// Errors about the catalog's contents.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Two libraries offer a component of the same kind and name.
    #[error("{kind} `{name}` is registered twice: by {first} and by {second}; disable one of them in registry.toml")]
    Duplicate {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// Origin of the one already loaded.
        first: String,
        /// Origin of the newcomer.
        second: String,
    },
    /// A registration function panicked.
    #[error("{0}")]
    Register(String),
    /// A component's declarations are inconsistent.
    #[error("{library}: {message}")]
    Declaration {
        /// The library.
        library: String,
        /// What is wrong.
        message: String,
    },
    /// No component with that kind and name.
    #[error("unknown {kind} `{name}`{}", suggestion(.suggestions))]
    Unknown {
        /// The kind asked for.
        kind: Kind,
        /// The name asked for.
        name: String,
        /// Close known names.
        suggestions: Vec<String>,
    },
}

fn suggestion(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            s.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    }
}

/// Every known component.
#[derive(Debug, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// The built-in libraries linked into this binary. The binary links its built-in plugin
    /// crates first (the linker drops crates nothing refers to, and their registrations with
    /// them); call this before loading any dynamic library.
    pub fn builtin() -> Result<Self, CatalogError> {
        let mut catalog = Catalog::default();
        for decl in assay_sdk::abi::builtins() {
            catalog.add_library(decl, Origin::Builtin)?;
        }
        Ok(catalog)
    }

    /// Registers a library's components. Nothing of the library is added when any of its
    /// components clashes with a known one.
    pub fn add_library(
        &mut self,
        decl: &'static PluginDeclaration,
        origin: Origin,
    ) -> Result<(), CatalogError> {
        let who = format!("library `{}` ({origin})", decl.library);
        let mut found: Vec<Component> = Vec::new();
        guard(&who, "register", || {
            (decl.register)(&mut found);
            Ok(())
        })
        .map_err(|e| CatalogError::Register(e.to_string()))?;
        assay_sdk::conformance::check_declarations(&found).map_err(|e| {
            CatalogError::Declaration {
                library: who.clone(),
                message: e.to_string(),
            }
        })?;
        for (i, c) in found.iter().enumerate() {
            let clash = self
                .entries
                .iter()
                .find(|e| e.component.kind() == c.kind() && e.component.name == c.name)
                .map(|e| format!("library `{}` ({})", e.library, e.origin))
                .or_else(|| {
                    found[..i]
                        .iter()
                        .any(|d| d.kind() == c.kind() && d.name == c.name)
                        .then(|| who.clone())
                });
            if let Some(first) = clash {
                return Err(CatalogError::Duplicate {
                    kind: c.kind(),
                    name: c.name.clone(),
                    first,
                    second: who,
                });
            }
        }
        self.entries
            .extend(found.into_iter().map(|component| Entry {
                component,
                origin: origin.clone(),
                library: decl.library.to_string(),
                library_version: decl.version.to_string(),
            }));
        Ok(())
    }

    /// All entries sorted by kind and name.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut out: Vec<_> = self.entries.iter().collect();
        out.sort_by(|a, b| {
            (a.component.kind(), &a.component.name).cmp(&(b.component.kind(), &b.component.name))
        });
        out
    }

    /// Entries with the given name, of any kind.
    pub fn named(&self, name: &str) -> Vec<&Entry> {
        self.entries()
            .into_iter()
            .filter(|e| e.component.name == name)
            .collect()
    }

    /// The component of `kind` called `name`, or an error suggesting close names.
    pub fn get(&self, kind: Kind, name: &str) -> Result<&Entry, CatalogError> {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.component.kind() == kind && e.component.name == name)
        {
            return Ok(e);
        }
        let mut close: Vec<(f64, String)> = self
            .entries
            .iter()
            .filter(|e| e.component.kind() == kind)
            .map(|e| {
                (
                    strsim::jaro_winkler(name, &e.component.name),
                    e.component.name.clone(),
                )
            })
            .filter(|(score, _)| *score > 0.7)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        Err(CatalogError::Unknown {
            kind,
            name: name.to_string(),
            suggestions: close.into_iter().take(3).map(|(_, n)| n).collect(),
        })
    }
}

/// The model's parameters as an optimizer receives them: each with the role the model gives it,
/// and no weight decay for the roles in `no_decay`.
pub fn optimizer_parameters(model: &dyn Model, no_decay: &[Role]) -> Vec<Parameter> {
    model
        .parameters()
        .into_iter()
        .map(|(name, var)| {
            let role = model.parameter_role(&name, &var);
            Parameter {
                weight_decay_scale: if no_decay.contains(&role) { 0.0 } else { 1.0 },
                name,
                var,
                role,
            }
        })
        .collect()
}

/// Builds instances from an entry, each wrapped so that its calls are guarded.
impl Entry {
    fn who(&self) -> String {
        format!("plugin {}", self.label())
    }

    /// Builds an optimizer over `vars` (see [`optimizer_parameters`]).
    pub fn build_optimizer(
        &self,
        params: &Params,
        vars: Vec<Parameter>,
    ) -> Result<Box<dyn Optimizer>> {
        let Factory::Optimizer(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not an optimizer",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, vars))?;
        Ok(Box::new(GuardedOptimizer { who, inner }))
    }

    /// Builds the host-memory rule of an optimizer (for online problems) over an iterate of
    /// `dim` coordinates in `precision`.
    pub fn build_host_optimizer(
        &self,
        params: &Params,
        dim: usize,
        precision: Precision,
    ) -> Result<GuardedHostOptimizer> {
        let Some(host) = &self.component.host_optimizer else {
            return Err(PluginError::invalid(format!(
                "{} has no host-memory implementation, which online problems need",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "host_optimizer", || (host.0)(params, dim, precision))?;
        Ok(GuardedHostOptimizer { who, inner })
    }

    /// Builds a model.
    pub fn build_model(&self, params: &Params, cx: &ModelContext) -> Result<GuardedModel> {
        let Factory::Model(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not a model",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        GuardedModel::new(who, inner)
    }

    /// Builds a dataset.
    pub fn build_dataset(&self, params: &Params, cx: &BuildContext) -> Result<GuardedDataset> {
        let Factory::Dataset(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not a dataset",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        GuardedDataset::new(who, inner)
    }

    /// Builds a probe.
    pub fn build_probe(&self, params: &Params, cx: &BuildContext) -> Result<Box<dyn Probe>> {
        let Factory::Probe(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not a probe",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        Ok(Box::new(GuardedProbe { who, inner }))
    }

    /// Builds an environment.
    pub fn build_environment(
        &self,
        params: &Params,
        cx: &BuildContext,
    ) -> Result<Box<dyn Environment>> {
        let Factory::Environment(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not an environment",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        Ok(Box::new(GuardedEnvironment { who, inner }))
    }

    /// Builds an agent.
    pub fn build_agent(&self, params: &Params, cx: &AgentContext) -> Result<Box<dyn Agent>> {
        let Factory::Agent(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not an agent",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        Ok(Box::new(GuardedAgent { who, inner }))
    }

    /// Builds a solver.
    pub fn build_solver(&self, params: &Params, cx: &BuildContext) -> Result<Box<dyn Solver>> {
        let Factory::Solver(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not a solver",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        Ok(Box::new(GuardedSolver { who, inner }))
    }

    /// Builds an online problem.
    pub fn build_problem(
        &self,
        params: &Params,
        cx: &BuildContext,
    ) -> Result<Box<dyn OnlineProblem>> {
        let Factory::Problem(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not an online problem",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        Ok(Box::new(GuardedProblem { who, inner }))
    }

    /// Builds a pruner.
    pub fn build_pruner(&self, params: &Params, cx: &BuildContext) -> Result<GuardedPruner> {
        let Factory::Pruner(f) = &self.component.factory else {
            return Err(PluginError::invalid(format!(
                "{} is not a pruner",
                self.label()
            )));
        };
        let who = self.who();
        let inner = guard(&who, "build", || f(params, cx))?;
        Ok(GuardedPruner { who, inner })
    }
}
